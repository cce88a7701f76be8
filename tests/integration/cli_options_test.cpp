// Every option of every subcommand, parsed in process through the real
// command line (tools/sdn): each numeric option carries a range that
// rejects nan, inf, text and values just outside it, naming the option; and
// a table of command lines that must be refused before any work is done
// (conflicting options, options that do nothing in the chosen mode).
#include "commands.h"
#include "option_checks.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace {

using sdn::cli::kRangeValidator;

struct Command {
  std::vector<std::string> path; // e.g. {"bench", "exit"}
  CLI::App* app;
};

void collect(
    CLI::App* app,
    std::vector<std::string> path,
    std::vector<Command>& out) {
  out.push_back({path, app});
  for (CLI::App* sub : app->get_subcommands({})) {
    auto sub_path = path;
    sub_path.push_back(sub->get_name());
    collect(sub, sub_path, out);
  }
}

// Calls f(path, option) for every option of the real command line (every
// subcommand) whose CLI11 type name starts with one of `types`.
void for_each_option(
    std::initializer_list<const char*> types,
    const std::function<
        void(const std::vector<std::string>& path, CLI::Option* option)>& f) {
  auto app = sdn::cli::make_app();
  std::vector<Command> commands;
  collect(app.get(), {}, commands);
  for (const Command& command : commands) {
    for (CLI::Option* option : command.app->get_options()) {
      const std::string type = option->get_type_name();
      for (const char* prefix : types) {
        if (type.rfind(prefix, 0) == 0) {
          f(command.path, option);
          break;
        }
      }
    }
  }
}

// Values a range validator described as `range` must refuse and accept.
struct Probes {
  std::vector<std::string>
      bad{"nan", "-nan", "inf", "-inf", "1e400", "abc", "", "1x"};
  std::vector<std::string> good;
};

std::string text(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

// A value strictly between `from` and the nearest representable step past
// it towards `to`, far enough to be exact as text.
double just_past(double from, double to) {
  const double step = std::max(1e-6, std::abs(from) * 1e-6);
  return from + (to > from ? step : -step);
}

Probes probes_for(const std::string& range) {
  Probes p;
  double low = 0, high = 0;
  char open = 0, close = 0;
  if (std::sscanf(
          range.c_str(), "in %c%lf, %lf%c", &open, &low, &high, &close) == 4) {
    const bool low_in = open == '[', high_in = close == ']';
    p.bad.push_back(text(just_past(low, low - 1)));
    p.bad.push_back(text(just_past(high, high + 1)));
    p.good.push_back(text(low_in ? low : just_past(low, high)));
    p.good.push_back(text(high_in ? high : just_past(high, low)));
    if (!low_in) {
      p.bad.push_back(text(low));
    }
    if (!high_in) {
      p.bad.push_back(text(high));
    }
  } else if (std::sscanf(range.c_str(), ">= %lf", &low) == 1) {
    p.bad.push_back(text(just_past(low, low - 1)));
    p.good.push_back(text(low));
    p.good.push_back(text(low + 1000));
  } else if (std::sscanf(range.c_str(), "> %lf", &low) == 1) {
    p.bad.push_back(text(low));
    p.good.push_back(text(just_past(low, low + 1)));
  } else {
    EXPECT_EQ(range, "finite") << "unknown range form";
    p.good.push_back("-1.5");
    p.good.push_back("0");
  }
  return p;
}

std::string joined(const std::vector<std::string>& path) {
  std::string out = "sdn";
  for (const auto& p : path) {
    out += " " + p;
  }
  return out;
}

// The error a command line gives, parsed and run in process ("" if none).
std::string error_of(const std::vector<std::string>& args) {
  auto app = sdn::cli::make_app();
  try {
    sdn::cli::parse_command_line(*app, args);
  } catch (const CLI::ParseError& e) {
    return e.what();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

TEST(CliOptions, EveryNumericOptionHasARangeThatHolds) {
  int probed = 0;
  for_each_option(
      {"INT", "UINT", "FLOAT"}, [&](const auto& path, auto* option) {
        const std::string where = joined(path) + " " + option->get_name();
        CLI::Validator* range = nullptr;
        try {
          range = option->get_validator(kRangeValidator);
        } catch (const CLI::OptionNotFound&) {
          ADD_FAILURE() << where << " is numeric but has no range check "
                        << "(tools/sdn/option_checks.h)";
          return;
        }
        ++probed;
        const std::string description = range->get_description();
        const Probes p = probes_for(description);
        for (std::string value : p.bad) {
          EXPECT_NE((*range)(value), "")
              << where << " (" << description << ") accepts '" << value << "'";
        }
        for (std::string value : p.good) {
          EXPECT_EQ((*range)(value), "")
              << where << " (" << description << ") refuses '" << value << "'";
        }
        // Through the whole parser: the error names the option and the value.
        auto args = path;
        args.push_back(option->get_name());
        args.push_back("nan");
        const std::string message = error_of(args);
        EXPECT_NE(message.find(option->get_name()), std::string::npos)
            << where << ": " << message;
        EXPECT_NE(message.find("got nan"), std::string::npos)
            << where << ": " << message;
      });
  // Today's count; a drop means options lost their check or the walk broke.
  std::printf("numeric options probed: %d\n", probed);
  EXPECT_GE(probed, 90);
}

// CLI11 alone reads integers with base 0 and clamps at 64 bits: "010" would
// be 8 and 10^23 the largest value. Every integer option is decimal (or
// 0x) and within 64 bits.
TEST(CliOptions, IntegerOptionsAreDecimalAndFit64Bits) {
  int checked = 0;
  for_each_option({"INT", "UINT"}, [&](const auto& path, auto* option) {
    const std::string where = joined(path) + " " + option->get_name();
    CLI::Validator* integer = nullptr;
    try {
      integer = option->get_validator("integer");
    } catch (const CLI::OptionNotFound&) {
      ADD_FAILURE() << where << " has no integer check";
      return;
    }
    ++checked;
    for (std::string value : {"010", " 010", "\t010 "}) {
      EXPECT_EQ((*integer)(value), "") << where;
      EXPECT_EQ(value, "10") << where;
    }
    for (std::string big :
         {"99999999999999999999999",
          "18446744073709551616",
          "0x1FFFFFFFFFFFFFFFFFFFF"}) {
      EXPECT_NE((*integer)(big), "") << where << " accepts " << big;
    }
    // Signed options (counts, sizes) stop at 2^31-1, so that no product of
    // two overflows (a batch size of 2^63-1 once corrupted the heap).
    const bool is_unsigned = option->get_type_name().rfind("UINT", 0) == 0;
    std::string large = "9223372036854775807";
    EXPECT_EQ((*integer)(large).empty(), is_unsigned) << where;
    std::string most = "2147483647";
    EXPECT_EQ((*integer)(most), "") << where;
  });
  EXPECT_GE(checked, 50);
  EXPECT_NE(
      error_of({"train", "--seed", "99999999999999999999999", "--out", "X"})
          .find("--seed: expected an integer that fits in 64 bits"),
      std::string::npos);
  EXPECT_NE(
      error_of({"train", "--batch-size", "9223372036854775807", "--out", "X"})
          .find("--batch-size: expected an integer of at most 2147483647"),
      std::string::npos);
}

// A command line CLI11 cannot parse: one `error:` line and status 2.
// What the user typed, what was expected, and which --help to read.
TEST(CliOptions, ParseErrorsAreOneLineAndStatusTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"train", "--no-such-option"},
       "error: unknown option --no-such-option for sdn train (see sdn "
       "train --help)"},
      {{"--threads", "1", "trian", "--epochs", "2"},
       "error: unknown command 'trian' for sdn; its commands are paper, "},
      {{"data", "shw"},
       "error: unknown command 'shw' for sdn data; its commands are info, "
       "show (see sdn data --help)"},
      {{}, "error: no command given; the commands of sdn are paper, "},
      {{"--nosuch"}, "error: unknown option --nosuch for sdn (see sdn --help)"},
      {{"--threads", "abc", "train"},
       "error: --threads: expected a finite number in [0, 4096], got abc "
       "(see sdn --help)"},
      {{"train", "--lr", "0.1", "--nosuch", "value"},
       "error: unknown option --nosuch for sdn train (see sdn train --help)"},
      {{"train", "--epochs"},
       "error: --epochs: expected a value (INT:>= 1), found none (see sdn "
       "train --help)"},
      {{"train", "--epochs", "3", "extra"},
       "error: unexpected argument 'extra' for sdn train (see sdn train "
       "--help)"},
      {{"train", "--epochs", "3", "foo", "bar"},
       "error: unexpected arguments 'foo bar' for sdn train"},
      {{"bench", "serve", "--checkpoint"},
       "error: --checkpoint: expected a value (TEXT), found none (see sdn "
       "bench serve --help)"}};
  for (const auto& [words, expected] : cases) {
    std::vector<std::string> args = {"sdn"};
    args.insert(args.end(), words.begin(), words.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    ::testing::internal::CaptureStderr();
    const int status =
        sdn::cli::run_command_line(static_cast<int>(argv.size()), argv.data());
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(status, 2) << err;
    EXPECT_EQ(err.rfind(expected, 0), 0u) << err;
    EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
  }
}

TEST(CliOptions, ConflictsAndOptionsWithoutEffectAreRefused) {
  const std::vector<std::string> exit = {
      "exit", "--checkpoint", "/nonexistent"};
  const auto with = [](std::vector<std::string> base,
                       std::initializer_list<std::string> more) {
    base.insert(base.end(), more);
    return base;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {with(
           exit,
           {"--threshold", "-0.5", "--budget", "0.5", "--val-trace", "V"}),
       "--threshold: expected a finite number in [0, 1], got -0.5"},
      {with(
           exit, {"--threshold", "nan", "--budget", "0.5", "--val-trace", "V"}),
       "--threshold: expected a finite number in [0, 1], got nan"},
      {with(exit, {"--threshold", "0.9", "--budget", "-2"}),
       "--budget: expected a finite number > 0, got -2"},
      {with(exit, {"--threshold", "-0.5"}), "got -0.5"},
      {with(exit, {"--threshold", "0.5", "--val-trace", "V"}),
       "--val-trace has no effect without --budget"},
      {{"report", "--trace", "T", "--html", ""},
       "--html: expected a value, found an empty string"},
      {{"report", "--trace", "T", "--html", "r\xe9sum\xe9.html"},
       "--html: expected UTF-8 text (paths and names are recorded in JSON), "
       "found bytes that are not UTF-8"},
      {{"eval", "--checkpoint", "C", "--out", "X", "--ood-source", "fog"},
       "--ood-source must be one of uniform-noise, gaussian-noise, inverted, "
       "held-out-classes, or a data set name, got 'fog'"},
      {{"explain", "--checkpoint", "C", "--out", "X", "--batch-size", "8"},
       "--batch-size has no effect with --select first"},
      {{"eval",
        "--checkpoint",
        "C",
        "--out",
        "X",
        "--ood-source",
        "inverted",
        "--split",
        "test"},
       "--split has no effect with --ood-source"},
      {{"eval",
        "--checkpoint",
        "C",
        "--out",
        "X",
        "--ood-source",
        "inverted",
        "--ood-data-dir",
        "/tmp"},
       "--ood-data-dir has no effect unless --ood-source names a data set"},
      {{"eval",
        "--checkpoint",
        "C",
        "--out",
        "X",
        "--ood-source",
        "synthetic",
        "--ood-data-dir",
        "/tmp"},
       "--ood-data-dir has no effect unless --ood-source names a data set "
       "read from files (synthetic is made in memory)"},
      {{"data",
        "show",
        "--dataset",
        "folder",
        "--data-dir",
        "/nonexistent",
        "--mean",
        "0.5",
        "--std",
        "0.2",
        "--out",
        "g.png"},
       "--mean has no effect with sdn data show (it draws the pixels before "
       "normalisation)"},
      {{"data", "info", "--dataset", "folder", "--std", "1e308"},
       "--std: expected a finite number in (0, 1000], got 1e308"},
      {{"data", "info", "--val-size", "0", "--data-seed", "3"},
       "--data-seed has no effect with --val-size 0 and without "
       "--train-subset"},
      {with(exit, {"--threshold", "0.5", "--train-trace", "T"}),
       "--train-trace has no effect for the max-prob policy"},
      {with(exit, {"--policy", "budget-fit", "--param", "0.5"}),
       "the budget-fit policy is fitted on a validation trace: give "
       "--val-trace"},
      {with(exit, {"--policy", "ensemble", "--param", "0.5"}),
       "give --train-trace (or --val-trace)"},
      {with(exit, {"--policy", "patience", "--param", "1.5"}),
       "--param of the patience policy must be a whole number in [1, "},
      {with(exit, {"--threshold", "0.5", "--param", "0.5"}),
       "give one of --threshold and --param"},
      {with(exit, {"--threshold", "0.5", "--policy", "entropy"}),
       "--threshold means --policy max-prob"},
      {with(exit, {"--budget", "0.5"}), "--budget needs --val-trace"},
      {with(exit, {}),
       "give exactly one of --param (or --threshold) and --budget"},
      {{"bench",
        "exit",
        "--checkpoint",
        "C",
        "--stages",
        "8",
        "--threshold",
        "0.5"},
       "--threshold has no effect with --stages"},
      {{"train", "--resume", "R", "--epochs", "3", "--lr", "0.5"},
       "--lr: cannot change when resuming"},
      {{"train", "--resume", "R", "--arch", "vgg16", "--mode", "sdn"},
       "--arch, --mode: cannot change when resuming"},
      {{"train", "--dataset", "synthetic", "--data-dir", "/tmp", "--out", "X"},
       "--data-dir has no effect with --dataset synthetic"},
      {{"train", "--synthetic-side", "32", "--out", "X"},
       "--synthetic-side has no effect unless --dataset synthetic"},
      {{"train", "--dataset", "synthetic", "--trigger-x", "3", "--out", "X"},
       "--trigger-x has no effect without --poison-rate"},
      {{"train", "--epochs", "0", "--out", "X"},
       "--epochs: expected a finite number >= 1, got 0"},
      {{"train", "--momentum", "1", "--out", "X"},
       "--momentum: expected a finite number in [0, 1), got 1"},
      {{"train", "--gamma", "0", "--out", "X"},
       "--gamma: expected a finite number in (0, 1], got 0"},
      {{"data", "info", "--synthetic-train", "10"},
       "--synthetic-train has no effect unless --dataset synthetic"},
      {{"import",
        "--arch",
        "resnet56",
        "--synthetic-side",
        "32",
        "--from",
        "F",
        "--out",
        "X"},
       "--synthetic-side has no effect unless --dataset synthetic"},
      {{"--threads", "-1", "version"},
       "--threads: expected a finite number in [0, 4096], got -1"},
      {{"report", "--trace", "T", "--target", "-1"},
       "--target: expected a finite number >= 0, got -1"},
      {{"--threads", "100000000", "version"},
       "--threads: expected a finite number in [0, 4096]"},
      {{"train", "--dataset", "synthetic", "--ic-only-clean", "--out", "X"},
       "--ic-only-clean has no effect unless --mode ic-only"},
      {{"train", "--dataset", "synthetic", "--from", "F", "--out", "X"},
       "--from is only for --mode ic-only"},
      {{"train",
        "--dataset",
        "synthetic",
        "--mode",
        "ic-only",
        "--from",
        "F",
        "--momentum",
        "0.5",
        "--out",
        "X"},
       "--momentum has no effect with the adam optimiser"},
      {{"train", "--dataset", "synthetic", "--master", "h:1", "--out", "X"},
       "--master has no effect with one process"},
      {{"train", "--dataset", "synthetic", "--dist-timeout", "9", "--out", "X"},
       "--dist-timeout has no effect with one process"},
      {{"train",
        "--dataset",
        "synthetic",
        "--val-size",
        "0",
        "--eval-batch-size",
        "7",
        "--out",
        "X"},
       "--eval-batch-size has no effect with --val-size 0"},
      {{"eval", "--checkpoint", "C", "--out", "T", "--trigger-x", "3"},
       "--trigger-x has no effect without --trigger"},
      {{"report", "--trace", "T", "--grid-images", "3"},
       "--grid-images has no effect without --html"},
      {{"report", "--trace", "T", "--target", "3"},
       "--target has no effect without --trigger-trace"},
      {{"bench",
        "exit",
        "--checkpoint",
        "C",
        "--batch-sizes",
        "32",
        "--samples-batch1",
        "5"},
       "--samples-batch1 has no effect without batch size 1"},
      {{"launch", "-n", "2", "--", "version"},
       "launch starts data-parallel `sdn train` processes only; got `sdn "
       "version`"},
      {{"train", "--config", "", "--out", "X"},
       "--config: expected a file name, got an empty one"},
  };
  for (const auto& [args, expected] : cases) {
    const std::string message = error_of(args);
    EXPECT_NE(message.find(expected), std::string::npos)
        << joined(args) << "\n  gave: " << message
        << "\n  expected: " << expected;
  }
}

TEST(CliOptions, ABadValueFromAConfigFileNamesTheFile) {
  sdn::testing::TempDir dir("cli_config");
  const std::string file = dir.str("train.toml");
  sdn::write_file_atomic(file, "epochs = 2\nlr = -1\n");
  const std::string message =
      error_of({"train", "--config", file, "--out", dir.str("run")});
  EXPECT_EQ(
      message.rfind(
          "--config " + file + ": --lr: expected a finite number > 0, got -1",
          0),
      0u)
      << message;
  // The same value on the command line names only the option.
  EXPECT_EQ(
      error_of({"train", "--lr", "-1", "--out", dir.str("run")})
          .rfind("--lr: expected", 0),
      0u);
}

} // namespace

namespace {

// Every way a config file can be wrong names the file.
TEST(CliOptions, ConfigFileErrorsNameTheFile) {
  sdn::testing::TempDir dir("cli_config_errors");
  const std::pair<std::string, std::string> cases[] = {
      {"lr = 0.1\nepochs = 2\nlr = 0.2\n", ": key 'lr' is given twice"},
      {"lr = [0.1, 0.2]\n", ": key 'lr' takes one value, got 2"},
      {"lr =\n", ": key 'lr' has no value"},
      {"help = true\n", ": unknown key 'help'"},
      {"[train]\nlr = 1\n", ": sections ([train]) are not supported"},
      {"lr = 0.1\nepochs\n", ": line 2: expected 'key = value', got 'epochs'"},
      {"arch = \"resnet56\n", ": line 1: unterminated string"},
      {"epochs = 1e1\n", ": Could not convert: --epochs"},
      {"milestones = [1,\n  2]\nepochs = x1\n",
       ": --epochs: expected a finite number"},
  };
  int i = 0;
  for (const auto& [text, expected] : cases) {
    const std::string file = dir.str("c" + std::to_string(i++) + ".toml");
    sdn::write_file_atomic(file, text);
    const std::string message =
        error_of({"train", "--config", file, "--out", dir.str("run")});
    EXPECT_EQ(message.rfind("--config " + file + expected, 0), 0u)
        << text << "\n  gave: " << message;
  }
  // A directory or a device is not a config file (and is not waited on).
  for (const std::string& path : {dir.str(), std::string("/dev/zero")}) {
    const std::string message =
        error_of({"train", "--config", path, "--out", dir.str("run")});
    EXPECT_EQ(
        message.rfind("--config " + path + ": expected a regular file", 0), 0u)
        << message;
  }
}

} // namespace
