#pragma once

// Shared by the fuzz targets (docs/reliability.md#fuzzing): a per-process
// scratch folder for the readers that take a path, splitting one input into
// several files, and the rule that sdn::Error is a clean rejection while any
// other exception is a finding.

#include "sdn/util/error.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace sdn::fuzz {

/// A folder of this process, created on first use under $SDN_FUZZ_TMP
/// (scripts/fuzz and fuzz/replay set it to a folder they remove, for the
/// runs that end in a crash), else /dev/shm (memory) when writable, else the
/// system's temporary folder; removed at a normal exit.
inline const std::string& scratch_dir() {
  struct Scratch {
    std::string path;
    Scratch() {
      namespace fs = std::filesystem;
      std::error_code ec;
      fs::path base = "/dev/shm";
      if (const char* chosen = std::getenv("SDN_FUZZ_TMP")) {
        base = chosen;
      } else if (
          !fs::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0) {
        base = fs::temp_directory_path();
      }
      path = (base / "sdn_fuzz_XXXXXX").string();
      if (::mkdtemp(path.data()) == nullptr) {
        std::perror("sdn fuzz: mkdtemp");
        std::abort();
      }
    }
    ~Scratch() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Scratch scratch;
  return scratch.path;
}

/// Writes `bytes` to `name` inside scratch_dir() (creating its folder) and
/// returns the path.
inline std::string write_scratch(
    const std::string& name,
    const std::string& bytes) {
  const std::filesystem::path path =
      std::filesystem::path(scratch_dir()) / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "sdn fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

/// The line that separates the files of an input holding several
/// (kFileSeparator between the bytes of each; fuzz/make-seeds writes them).
constexpr const char kFileSeparator[] = "\n--sdn-fuzz-next-file--\n";

/// Splits an input at kFileSeparator into at most `count` parts; the last
/// part keeps any further separators. Missing parts are empty.
inline std::vector<std::string> split_files(
    const uint8_t* data,
    size_t size,
    size_t count) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string separator = kFileSeparator;
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() + 1 < count) {
    const size_t end = input.find(separator, start);
    if (end == std::string::npos) {
      break;
    }
    parts.push_back(input.substr(start, end - start));
    start = end + separator.size();
  }
  parts.push_back(input.substr(start));
  parts.resize(count);
  return parts;
}

/// Runs `parse`: `Rejection` (sdn::Error, or what the API documents for bad
/// input) is swallowed; any other exception is reported and aborts, which
/// libFuzzer records as a finding (a crash or a sanitizer report already is
/// one).
template <typename Rejection = sdn::Error, typename Parse>
void expect_clean(const char* what, Parse&& parse) {
  try {
    parse();
  } catch (const Rejection&) {
    // Rejected with the documented error: fine.
  } catch (const std::exception& e) {
    std::fprintf(
        stderr, "sdn fuzz: %s threw a foreign exception: %s\n", what, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "sdn fuzz: %s threw a non-std exception\n", what);
    std::abort();
  }
}

} // namespace sdn::fuzz
