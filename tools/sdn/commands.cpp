#include "commands.h"
#include "option_checks.h"

#include "sdn/app/config_file.h"
#include "sdn/device/threads.h"
#include "sdn/util/allocator.h"
#include "sdn/util/error.h"
#include "sdn/util/printable.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace sdn::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

void apply_global_options() {
  configure_threads(global_options().threads);
  // SDN_KEEP_FREED_MEMORY=0 keeps glibc's default malloc tuning (for A/B
  // measurements; see docs/performance.md).
  const char* keep = std::getenv("SDN_KEEP_FREED_MEMORY");
  if (keep == nullptr || std::string(keep) != "0") {
    keep_freed_memory();
  }
}

// Each subcommand lives in its own file; declare and call its setup here.
void setup_paper(CLI::App& app);
void setup_report(CLI::App& app);
void setup_version(CLI::App& app);
void setup_bench(CLI::App& app);
void setup_data(CLI::App& app);
void setup_eval(CLI::App& app);
void setup_exit(CLI::App& app);
void setup_explain(CLI::App& app);
void setup_export(CLI::App& app);
void setup_import(CLI::App& app);
void setup_info(CLI::App& app);
void setup_train(CLI::App& app);
void setup_launch(CLI::App& app);
void setup_serve(CLI::App& app);

void register_commands(CLI::App& app) {
  setup_paper(app);
  setup_data(app);
  setup_info(app);
  setup_train(app);
  setup_launch(app);
  setup_eval(app);
  setup_exit(app);
  setup_explain(app);
  setup_export(app);
  setup_import(app);
  setup_bench(app);
  setup_serve(app);
  setup_report(app);
  setup_version(app);
}

namespace {

// More threads than any machine has cores; a larger value is a mistake
// (10^8 would spend minutes starting threads).
constexpr int kMaxThreads = 4096;

} // namespace

std::unique_ptr<CLI::App> make_app() {
  auto app = std::make_unique<CLI::App>(
      "sdn: Shallow-Deep Networks (Kaya et al., ICML 2019) in C++.\n"
      "Train CNNs and SDNs, attach internal classifiers, measure and exploit "
      "early exits, analyse overthinking.",
      "sdn");
  app->require_subcommand(1);
  app->fallthrough();
  app->set_version_flag("--version", "sdn 0.1.0");
  app->add_option(
         "--threads",
         global_options().threads,
         "Intra-op threads (0, the default: one per core); the BLAS runs one "
         "thread unless OPENBLAS_NUM_THREADS is set")
      ->check(in_range(0, kMaxThreads));
  register_commands(*app);
  check_option_values(*app);
  return app;
}

void parse_command_line(CLI::App& app, std::vector<std::string> args) {
  // Subcommands' --config files (CLI11 reads only the main app's); then
  // CLI11's vector parse, which takes the arguments in reverse order.
  std::map<std::string, std::string> origin;
  args = app::expand_config_files(app, args, &origin);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // A bad value that came from a config file: name the file too.
    const std::string what = e.what();
    for (const auto& [name, file] : origin) {
      // The option's name as a whole word ("--lr: ...", "Could not
      // convert: --epochs = 1e1"), not a prefix of a longer one.
      for (size_t at = what.find(name); at != std::string::npos;
           at = what.find(name, at + 1)) {
        const size_t after = at + name.size();
        if (after == what.size() ||
            !(std::isalnum(static_cast<unsigned char>(what[after])) ||
              what[after] == '-')) {
          throw CLI::ValidationError("--config " + file, what);
        }
      }
    }
    throw;
  }
}

namespace {

// Flushes stdout (std::cout shares its buffer) and reports a failed write:
// a result cut short by a full disk must not look like success.
bool stdout_ok() {
  errno = 0;
  std::cout.flush();
  const bool ok =
      std::cout.good() && std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
  if (!ok) {
    const int error = errno;
    std::fprintf(
        stderr,
        "error: cannot write the output to standard output (%s)\n",
        error != 0 ? std::strerror(error) : "write failed");
  }
  return ok;
}

// The commands the command line named, outermost first: sdn, then e.g.
// bench, then serve.
std::vector<const CLI::App*> command_chain(const CLI::App& app) {
  std::vector<const CLI::App*> chain = {&app};
  while (!chain.back()->get_subcommands().empty()) {
    chain.push_back(chain.back()->get_subcommands().front());
  }
  return chain;
}

// "sdn bench serve" for the chain up to and including `last`.
std::string chain_name(
    const std::vector<const CLI::App*>& chain,
    const CLI::App* last) {
  std::string name;
  for (const CLI::App* command : chain) {
    name += (name.empty() ? "" : " ") + command->get_name();
    if (command == last) {
      break;
    }
  }
  return name;
}

// The command of the chain that has option `name` ("--threads" is sdn's),
// or the innermost one.
const CLI::App* owner_of(
    const std::vector<const CLI::App*>& chain,
    const std::string& name) {
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->get_option_no_throw(name) != nullptr) {
      return *it;
    }
  }
  return chain.back();
}

// A parse error in sdn's words. CLI11's own texts say what its parser
// missed ("--epochs: 1 required INT:>= 1 missing", "A subcommand is
// required" for a misspelt command, extra arguments in reverse order);
// these say what the user typed and what was expected, and which --help
// lists the options.
std::string parse_error_message(
    const CLI::ParseError& e,
    const CLI::App& app,
    const std::vector<std::string>& args) {
  const std::string what = e.what();
  const auto chain = command_chain(app);
  const CLI::App* command = chain.back();
  const auto help = [&](const CLI::App* of) {
    return " (see " + chain_name(chain, of) + " --help)";
  };
  const auto starts = [&what](const std::string& prefix) {
    return what.rfind(prefix, 0) == 0;
  };
  // "--epochs: 1 required INT:>= 1 missing"
  const size_t colon = what.find(": ");
  const size_t required = what.find(" required ");
  if (colon != std::string::npos && required != std::string::npos &&
      what.size() > 8 && what.compare(what.size() - 8, 8, " missing") == 0 &&
      what[0] == '-') {
    const std::string option = what.substr(0, colon);
    const std::string count = what.substr(colon + 2, required - colon - 2);
    const std::string type =
        what.substr(required + 10, what.size() - 8 - required - 10);
    return option + ": expected " +
        (count == "1" ? std::string("a value") : count + " values") + " (" +
        type + "), found none" + help(owner_of(chain, option));
  }
  for (const std::string prefix :
       {"The following argument was not expected: ",
        "The following arguments were not expected: "}) {
    if (starts(prefix)) {
      // CLI11 lists them in the reverse of the order typed (it parses a
      // reversed vector).
      std::vector<std::string> words;
      std::istringstream in(what.substr(prefix.size()));
      for (std::string word; in >> word;) {
        words.insert(words.begin(), word);
      }
      if (!words.empty() && words[0].rfind("-", 0) == 0) {
        return "unknown option " + words[0] + " for " +
            chain_name(chain, command) + help(command);
      }
      std::string typed;
      for (const std::string& word : words) {
        typed += (typed.empty() ? "" : " ") + word;
      }
      return "unexpected argument" + std::string(words.size() > 1 ? "s" : "") +
          " '" + typed + "' for " + chain_name(chain, command) + help(command);
    }
  }
  if (what == "A subcommand is required") {
    // The first word after the commands named that is not an option names
    // the unknown command; else an option none of them has.
    size_t depth = 1;
    std::string word;
    std::string unknown_option;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg.rfind("-", 0) == 0) {
        const std::string name = arg.substr(0, arg.find('='));
        const CLI::App* owner = owner_of(chain, name);
        const CLI::Option* option = owner->get_option_no_throw(name);
        if (option == nullptr) {
          if (unknown_option.empty()) {
            unknown_option = name;
          }
        } else if (
            arg.find('=') == std::string::npos && option->get_expected() > 0) {
          ++i; // its value
        }
      } else if (depth < chain.size() && arg == chain[depth]->get_name()) {
        ++depth;
      } else {
        word = arg;
        break;
      }
    }
    std::string names;
    for (const CLI::App* sub : command->get_subcommands({})) {
      if (!sub->get_group().empty()) { // hidden ones have no group
        names += (names.empty() ? "" : ", ") + sub->get_name();
      }
    }
    const std::string where = chain_name(chain, command);
    if (!word.empty()) {
      return "unknown command '" + printable_name(word) + "' for " + where +
          "; its commands are " + names + help(command);
    }
    if (!unknown_option.empty()) {
      return "unknown option " + printable_name(unknown_option) + " for " +
          where + help(command);
    }
    return "no command given; the commands of " + where + " are " + names +
        help(command);
  }
  // "--threads: expected ...": the --help of the command that has it.
  const CLI::App* owner = command;
  if (what[0] == '-' && colon != std::string::npos) {
    owner = owner_of(chain, what.substr(0, colon));
  }
  return what + (what.find("--help") == std::string::npos ? help(owner) : "");
}

int print_error(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

// What to try after an allocation failed: a smaller --batch-size only when
// the command that ran has one.
std::string memory_advice(const CLI::App* app) {
  const CLI::App* command = app;
  while (command != nullptr && !command->get_subcommands().empty()) {
    command = command->get_subcommands().front();
  }
  const bool batched = command != nullptr && command != app &&
      command->get_option_no_throw("--batch-size") != nullptr;
  return batched ? "try a smaller --batch-size, or raise the memory limit" :
                   "raise the memory limit";
}

} // namespace

int run_command_line(int argc, char** argv) {
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported
  // as an error naming the file, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  int status = 0;
  std::unique_ptr<CLI::App> app;
  try {
    app = make_app();
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
      parse_command_line(*app, args);
    } catch (const CLI::CallForHelp& e) {
      status = app->exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      status = app->exit(e);
    } catch (const CLI::CallForVersion& e) {
      status = app->exit(e);
    } catch (const CLI::ParseError& e) {
      // One line, and the usage-error status (2) whatever CLI11's own code.
      std::fprintf(
          stderr, "error: %s\n", parse_error_message(e, *app, args).c_str());
      status = 2;
    }
  } catch (const sdn::Error& e) {
    status = print_error(e.what());
  } catch (const c10::Error& e) {
    // what() carries a C++ backtrace; users need only the message.
    const std::string message = e.what_without_backtrace();
    if (message.find("can't allocate memory") != std::string::npos) {
      // Drop LibTorch's "[enforce fail at FILE:LINE] err == 0." prefix.
      const size_t what = message.find("DefaultCPUAllocator");
      status = print_error(
          "out of memory: " +
          (what == std::string::npos ? message : message.substr(what)) + "; " +
          memory_advice(app.get()));
    } else {
      status = print_error(message);
    }
  } catch (const std::bad_alloc&) {
    status = print_error(
        "out of memory (an allocation failed; " + memory_advice(app.get()) +
        ")");
  } catch (const std::exception& e) {
    status = print_error(e.what());
  }
  if (!stdout_ok() && status == 0) {
    status = 1;
  }
  return status;
}

} // namespace sdn::cli
