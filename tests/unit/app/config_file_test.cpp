#include "sdn/app/config_file.h"

#include "sdn/util/files.h"

#include "temp_dir.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using Args = std::vector<std::string>;

// A root command with one subcommand shaped like `sdn train`.
struct Command {
  CLI::App app{"test"};
  double lr = 0;
  bool no_augment = false;
  std::vector<int> milestones;
  std::string config;
  Command() {
    auto* train = app.add_subcommand("train");
    train->add_option("--config", config);
    train->add_option("--lr", lr);
    train->add_flag("--no-augment", no_augment);
    train->add_option("--milestones", milestones);
  }
};

std::string config_error(Command& c, const Args& args) {
  try {
    sdn::app::expand_config_files(c.app, args);
  } catch (const CLI::Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(ConfigFile, KeysBecomeOptionsAndTheCommandLineWins) {
  const sdn::testing::TempDir dir("config_file");
  const std::string file = dir.str("t.toml");
  sdn::write_file_atomic(
      file, "lr = 0.5\nno-augment = true\nmilestones = [3, 6]\n");
  Command c;
  const Args args = {"train", "--config", file, "--lr=0.25"};
  const Args expanded = sdn::app::expand_config_files(c.app, args);
  EXPECT_EQ(
      expanded,
      (Args{
          "train",
          "--no-augment",
          "--milestones",
          "3",
          "6",
          "--config",
          file,
          "--lr=0.25"}));
  // Without --config nothing changes; nor after a lone `--`.
  EXPECT_EQ(sdn::app::expand_config_files(c.app, {"train"}), Args{"train"});
  const Args launched = {"train", "--", "--config", file};
  EXPECT_EQ(sdn::app::expand_config_files(c.app, launched), launched);
}

TEST(ConfigFile, BadFilesAndKeysNameTheFileAndTheKey) {
  const sdn::testing::TempDir dir("config_file_bad");
  Command c;
  sdn::write_file_atomic(dir.str("unknown.toml"), "foo = 1\n");
  EXPECT_NE(
      config_error(c, {"train", "--config", dir.str("unknown.toml")})
          .find("unknown.toml: unknown key 'foo' for `sdn train`"),
      std::string::npos);
  sdn::write_file_atomic(dir.str("section.toml"), "[train]\nlr = 1\n");
  EXPECT_NE(
      config_error(c, {"train", "--config", dir.str("section.toml")})
          .find("section.toml: sections ([train])"),
      std::string::npos);
  sdn::write_file_atomic(dir.str("flag.toml"), "no-augment = maybe\n");
  EXPECT_NE(
      config_error(c, {"train", "--config", dir.str("flag.toml")})
          .find("key 'no-augment' is a flag"),
      std::string::npos);
  EXPECT_NE(
      config_error(c, {"train", "--config", dir.str("missing.toml")})
          .find("missing.toml: cannot open file (No such file or directory)"),
      std::string::npos);
}
