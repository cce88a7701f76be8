#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

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
  const std::vector<std::string> owned = {"last", "last.new", "metrics.jsonl"};
  // Absent, empty, or only our own entries, their locks and temporaries:
  // accepted.
  sdn::check_output_folder(dir.str("new"), "--out", owned);
  fs::create_directories(dir.str("run/last.new"));
  std::ofstream(dir.str("run/metrics.jsonl.tmp.12")) << "x";
  std::ofstream(dir.str("run/last.lock")) << "x";
  sdn::check_output_folder(dir.str("run"), "--out", owned);
  // A name that only starts like ours is not ours (a user's last.mine or
  // metrics.jsonl.bak would be lost).
  for (const char* foreign : {"last.mine", "metrics.jsonl.bak", "last.tmp.x"}) {
    std::ofstream(dir.str("run/") + foreign) << "x";
    EXPECT_THROW(
        sdn::check_output_folder(dir.str("run"), "--out", owned), sdn::Error)
        << foreign;
    fs::remove(dir.str("run/") + foreign);
  }
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

// A write replaces a regular file, writes through a symbolic link, and
// refuses anything else (a rename over a device or a FIFO would replace
// it: as root, /dev/null).
TEST(Files, WritesGoToRegularFilesOnly) {
  sdn::testing::TempDir dir("files_targets");
  const std::string target = dir.str("target.txt");
  sdn::write_file_atomic(target, "old");
  fs::create_symlink(target, dir.str("link"));
  sdn::write_file_atomic(dir.str("link"), "new");
  EXPECT_TRUE(fs::is_symlink(dir.str("link")));
  EXPECT_EQ(sdn::read_file(target), "new");
  const std::string fifo = dir.str("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, dir.str()}) {
    try {
      sdn::write_file_atomic(path, "x");
      ADD_FAILURE() << path << ": no throw";
    } catch (const sdn::Error& e) {
      EXPECT_NE(
          std::string(e.what()).find(
              "cannot write " + path +
              ": expected a regular file or a new name"),
          std::string::npos)
          << e.what();
    }
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
}

// A dangling link is refused, not replaced by a file: the user meant its
// target, which does not exist.
TEST(Files, ADanglingLinkIsRefusedAndKept) {
  sdn::testing::TempDir dir("files_dangling");
  const std::string link = dir.str("link");
  fs::create_symlink(dir.str("nowhere/file"), link);
  try {
    sdn::write_file_atomic(link, "x");
    ADD_FAILURE() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "cannot write " + link + ": a symbolic link to " +
            dir.str("nowhere/file") + ", which does not exist"),
        std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.str()), {}), 1);
}

TEST(Files, TemporariesOfAKilledWriterAreRemoved) {
  sdn::testing::TempDir dir("files_temporaries");
  std::ofstream(dir.str("metrics.jsonl.tmp.123")) << "x";
  fs::create_directories(dir.str("trace.tmp.77/inner"));
  std::ofstream(dir.str("metrics.jsonl.bak")) << "x";
  sdn::remove_temporaries(dir.str(), "metrics.jsonl");
  sdn::remove_temporaries(dir.str(), "trace");
  EXPECT_FALSE(fs::exists(dir.str("metrics.jsonl.tmp.123")));
  EXPECT_FALSE(fs::exists(dir.str("trace.tmp.77")));
  EXPECT_TRUE(fs::exists(dir.str("metrics.jsonl.bak")));
  EXPECT_TRUE(sdn::is_temporary_of("last.tmp.9", "last"));
  EXPECT_FALSE(sdn::is_temporary_of("last.tmp.", "last"));
  EXPECT_FALSE(sdn::is_temporary_of("last.tmp.9a", "last"));
}

TEST(Files, OnlyDeadWritersTemporariesWhenAsked) {
  sdn::testing::TempDir dir("files_dead_writers");
  // A process id that is surely gone: a child that has exited and been
  // reaped.
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string alive = dir.str("trace.tmp." + std::to_string(::getpid()));
  const std::string dead = dir.str("trace.tmp." + std::to_string(child));
  fs::create_directories(alive);
  fs::create_directories(dead + "/inner");
  sdn::remove_temporaries(
      dir.str(), "trace", sdn::Temporaries::kOfDeadProcesses);
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_FALSE(fs::exists(dead));
}

TEST(Files, FoldersAreWrittenWholeOrNotAtAll) {
  sdn::testing::TempDir dir("files_folder");
  const std::string out = dir.str("out");
  sdn::write_folder_atomic(out, [](const std::string& fresh) {
    sdn::write_file_atomic(fresh + "/a.txt", "first");
  });
  EXPECT_EQ(sdn::read_file(out + "/a.txt"), "first");
  // A writer that fails half-way leaves the previous folder as it was and
  // no temporary behind.
  EXPECT_THROW(
      sdn::write_folder_atomic(
          out,
          [](const std::string& fresh) {
            sdn::write_file_atomic(fresh + "/a.txt", "second");
            sdn::fail("disk full");
          }),
      sdn::Error);
  EXPECT_EQ(sdn::read_file(out + "/a.txt"), "first");
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.str())) {
    EXPECT_EQ(entry.path().filename(), "out");
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  // A complete second write replaces the whole folder.
  sdn::write_folder_atomic(out, [](const std::string& fresh) {
    sdn::write_file_atomic(fresh + "/b.txt", "second");
  });
  EXPECT_FALSE(sdn::path_exists(out + "/a.txt"));
  EXPECT_EQ(sdn::read_file(out + "/b.txt"), "second");
  // "out/" names the same folder.
  sdn::write_folder_atomic(out + "/", [](const std::string& fresh) {
    sdn::write_file_atomic(fresh + "/c.txt", "third");
  });
  EXPECT_EQ(sdn::read_file(out + "/c.txt"), "third");
  EXPECT_FALSE(sdn::path_exists(out + "/b.txt"));
}

TEST(Files, FoldersAreWrittenThroughASymbolicLink) {
  sdn::testing::TempDir dir("files_folder_link");
  const std::string target = dir.str("target");
  const std::string link = dir.str("link");
  fs::create_directories(target);
  fs::create_directory_symlink("target", link);
  sdn::write_folder_atomic(link, [](const std::string& fresh) {
    sdn::write_file_atomic(fresh + "/a.txt", "through");
  });
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(sdn::read_file(target + "/a.txt"), "through");
  // A link to a file or to nothing is not a folder to replace.
  sdn::write_file_atomic(dir.str("file"), "x");
  fs::create_symlink("file", dir.str("to_file"));
  fs::create_symlink("nowhere", dir.str("dangling"));
  for (const char* name : {"to_file", "dangling"}) {
    try {
      sdn::write_folder_atomic(dir.str(name), [](const std::string&) {});
      ADD_FAILURE() << "no throw for " << name;
    } catch (const sdn::Error& e) {
      EXPECT_NE(
          std::string(e.what()).find(
              std::string(name) == "dangling" ? "which does not exist" :
                                                "which is not a folder"),
          std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(fs::is_symlink(dir.str(name)));
  }
  EXPECT_EQ(sdn::read_file(dir.str("file")), "x");
}
