#pragma once

// Unique temporary directories for tests: concurrent runs of the suite (two
// checkouts, two ctest invocations) must never share a path.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace sdn::testing {

/// Creates and returns a new, empty directory under the system's temporary
/// directory, named sdn_<name>_XXXXXX (mkdtemp: unique even between
/// processes). Throws std::runtime_error when it cannot be created.
inline std::string unique_temp_dir(const std::string& name) {
  const std::string pattern =
      (std::filesystem::temp_directory_path() / ("sdn_" + name + "_XXXXXX"))
          .string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern);
  }
  return std::string(buffer.data());
}

/// A unique_temp_dir removed with everything in it when this goes out of
/// scope.
class TempDir {
 public:
  explicit TempDir(const std::string& name) : path_(unique_temp_dir(name)) {}
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory, or a path inside it.
  std::string str(const std::string& child = "") const {
    return child.empty() ? path_.string() : (path_ / child).string();
  }

 private:
  std::filesystem::path path_;
};

} // namespace sdn::testing
