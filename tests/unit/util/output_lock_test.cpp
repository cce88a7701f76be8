#include "sdn/util/output_lock.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

using sdn::OutputLock;

TEST(OutputLock, ASecondWriterIsRefusedNamingTheFolderAndTheHolder) {
  sdn::testing::TempDir dir("output_lock");
  const std::string out = dir.str("runs/sdn");
  std::optional<OutputLock> first = OutputLock::acquire(out, "--out");
  EXPECT_EQ(
      first->file(), std::filesystem::weakly_canonical(out).string() + ".lock");
  EXPECT_TRUE(sdn::path_exists(out + ".lock"));
  try {
    // Trailing slash: the same folder, the same lock.
    OutputLock::acquire(out + "/", "--out");
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(
        message.rfind(out + "/ is being written by another process", 0), 0u)
        << message;
    // Another spelling of the same folder meets the same lock.
    EXPECT_THROW(OutputLock::acquire(out + "/../sdn/.", "--out"), sdn::Error);
    EXPECT_NE(
        message.find("(pid " + std::to_string(::getpid()) + ": "),
        std::string::npos)
        << message;
    EXPECT_NE(message.find("sdn_unit_util); wait"), std::string::npos)
        << message;
    EXPECT_NE(message.find("choose another --out"), std::string::npos)
        << message;
  }
  // Released: the lock file goes, and the folder is free again.
  first.reset();
  EXPECT_FALSE(sdn::path_exists(out + ".lock"));
  EXPECT_NO_THROW(OutputLock::acquire(out, "--out"));
}

TEST(OutputLock, AStaleLockFileOfAKilledProcessIsTakenOver) {
  sdn::testing::TempDir dir("output_lock_stale");
  const std::string out = dir.str("trace");
  // What a holder killed with SIGKILL leaves: the file, no lock on it.
  sdn::write_file_atomic(out + ".lock", "999999\nsdn eval --out trace\n");
  const OutputLock lock = OutputLock::acquire(out, "--out");
  const std::string text = sdn::read_file(out + ".lock");
  EXPECT_EQ(text.rfind(std::to_string(::getpid()) + "\n", 0), 0u) << text;
}

// A symbolic link named like the lock is not followed: its target would be
// overwritten with the holder's pid and command line.
TEST(OutputLock, ASymbolicLinkAsTheLockIsRefused) {
  sdn::testing::TempDir dir("output_lock_link");
  const std::string target = dir.str("precious.txt");
  sdn::write_file_atomic(target, "keep");
  std::filesystem::create_symlink(target, dir.str("out.lock"));
  try {
    OutputLock::acquire(dir.str("out"), "--out");
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("it is a symbolic link; remove it"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sdn::read_file(target), "keep");
}
