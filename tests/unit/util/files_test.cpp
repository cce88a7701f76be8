#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

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
