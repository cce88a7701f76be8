#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

TEST(Files, AtomicWriteReplacesAndLeavesNoTemporary) {
  const fs::path dir = sdn::testing::unique_temp_dir("files_test");
  const std::string path = (dir / "a.json").string();
  sdn::write_json_atomic(path, nlohmann::json{{"x", 1}});
  sdn::write_json_atomic(path, nlohmann::json{{"x", 2}});
  EXPECT_EQ(sdn::read_json(path)["x"], 2);
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++count;
  }
  EXPECT_EQ(count, 1);
  fs::remove_all(dir);
}

TEST(Files, MissingAndCorruptFilesNameThePath) {
  try {
    sdn::read_file("/nonexistent/sdn/file");
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("/nonexistent/sdn/file"), std::string::npos);
  }
  const fs::path bad =
      fs::path(sdn::testing::unique_temp_dir("files_bad")) / "bad.json";
  sdn::write_file_atomic(bad.string(), "{not json");
  try {
    sdn::read_json(bad.string());
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
  fs::remove(bad);
}

// Only regular files are read: a directory, a FIFO (which would block until
// a writer comes) and a device (/dev/zero never ends) are refused at once.
TEST(Files, OnlyRegularFilesAreRead) {
  sdn::testing::TempDir dir("files_kinds");
  const std::string fifo = dir.str("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::pair<std::string, std::string> cases[] = {
      {dir.str(), "found a directory"},
      {fifo, "found a pipe (FIFO)"},
      {"/dev/zero", "found a device"},
  };
  for (const auto& [path, expected] : cases) {
    try {
      sdn::read_file(path);
      ADD_FAILURE() << path << ": no throw";
    } catch (const sdn::Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(
          msg.rfind(path + ": expected a regular file, " + expected, 0), 0u)
          << msg;
    }
  }
}

TEST(Files, OutputFoldersHoldOnlyWhatTheCommandWrites) {
  sdn::testing::TempDir dir("files_output");
  const std::vector<std::string> owned = {"last", "metrics.jsonl"};
  // Absent, empty, or only our own entries (with suffixes): accepted.
  sdn::check_output_folder(dir.str("new"), "--out", owned);
  fs::create_directories(dir.str("run/last.new"));
  std::ofstream(dir.str("run/metrics.jsonl.tmp.12")) << "x";
  sdn::check_output_folder(dir.str("run"), "--out", owned);
  // A foreign entry, or a file in the place of the folder: refused.
  std::ofstream(dir.str("run/photo.jpg")) << "x";
  try {
    sdn::check_output_folder(dir.str("run"), "--out", owned);
    ADD_FAILURE() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "--out " + dir.str("run") +
            ": holds 'photo.jpg', which this command does not write; choose "
            "a new or empty directory");
  }
  try {
    sdn::check_output_folder(dir.str("run/photo.jpg"), "--out", owned);
    ADD_FAILURE() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("exists and is not a directory"),
        std::string::npos);
  }
}
