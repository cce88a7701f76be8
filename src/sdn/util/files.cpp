#include "sdn/util/files.h"

#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace sdn {

namespace fs = std::filesystem;

namespace {

// What a path is, for an error about it.
const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) {
    return "a regular file";
  }
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a pipe (FIFO)";
  }
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    return "a device";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return "not a regular file";
}

// Where a write to `path` goes: `path` itself, or the file a symbolic link
// there points to (written through, not replaced). Throws when it is
// something other than a regular file: a rename over a device or a FIFO
// would replace it (as root, /dev/null).
std::string write_target(const std::string& path) {
  std::string target = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // A dangling link would be resolved to itself and replaced by a file.
    std::error_code ec;
    const fs::path points_to = fs::read_symlink(path, ec);
    check(
        ::stat(path.c_str(), &st) == 0 || errno != ENOENT,
        "cannot write ",
        path,
        ": a symbolic link to ",
        points_to.string(),
        ", which does not exist (create the target or remove the link)");
    target = fs::weakly_canonical(path, ec).string();
    check(
        !ec,
        "cannot write ",
        path,
        ": cannot resolve the link (",
        ec.message(),
        ")");
  }
  if (::stat(target.c_str(), &st) == 0) {
    check(
        S_ISREG(st.st_mode),
        "cannot write ",
        path,
        ": expected a regular file or a new name, found ",
        file_kind(st.st_mode));
  }
  return target;
}

} // namespace

void write_file_atomic(const std::string& file, const std::string& contents) {
  const std::string path = write_target(file);
  // A unique suffix keeps concurrent writers (several ranks, tests) apart.
  std::random_device rd;
  const std::string tmp = str_cat(path, ".tmp.", rd());
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  check(fd >= 0, "cannot write ", path, ": ", std::strerror(errno));
  const auto give_up = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("cannot write ", path, ": ", std::strerror(error));
  };
  const char* at = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, at, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      give_up(errno);
    }
    at += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail("cannot write ", path, ": ", std::strerror(error));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    fail("cannot rename ", tmp, " to ", path, ": ", ec.message());
  }
}

std::string read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below like every file that is not regular (a device such as /dev/zero
  // would never end).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  check(fd >= 0, path, ": cannot open file (", std::strerror(errno), ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    fail(path, ": cannot read file (", std::strerror(error), ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": expected a regular file, found ", file_kind(st.st_mode));
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail(path, ": cannot read file (", std::strerror(error), ")");
    }
    if (n == 0) {
      break;
    }
    bytes.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

nlohmann::json read_json(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
}

void write_json_atomic(const std::string& path, const nlohmann::json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  check(!ec, "cannot create directory ", path, ": ", ec.message());
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void check_is_folder(const std::string& dir, const std::string& option) {
  struct stat st {};
  // errno read after stat: check()'s arguments have no evaluation order.
  const bool found = ::stat(dir.c_str(), &st) == 0;
  const int error = errno;
  check(
      found, option, " ", dir, ": no such folder (", std::strerror(error), ")");
  check(
      S_ISDIR(st.st_mode),
      option,
      " ",
      dir,
      ": not a folder (found ",
      file_kind(st.st_mode),
      ")");
}

bool is_temporary_of(const std::string& name, const std::string& of) {
  const std::string prefix = of + ".tmp.";
  return name.size() > prefix.size() && name.rfind(prefix, 0) == 0 &&
      name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

void remove_temporaries(
    const std::string& dir,
    const std::string& of,
    Temporaries which) {
  // The writer's process id, for Temporaries::kOfDeadProcesses.
  const auto writer_is_gone = [&](const std::string& name) {
    const long pid = std::strtol(name.c_str() + of.size() + 5, nullptr, 10);
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  };
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_temporary_of(name, of) &&
        (which == Temporaries::kAll || writer_is_gone(name))) {
      stale.push_back(it->path());
    }
  }
  for (const auto& path : stale) {
    fs::remove_all(path, ec);
    check(!ec, "cannot remove ", path.string(), ": ", ec.message());
  }
}

void check_output_folder(
    const std::string& dir,
    const std::string& option,
    const std::vector<std::string>& owned) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    return;
  }
  check(
      fs::is_directory(status),
      option,
      " ",
      dir,
      ": exists and is not a directory");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    bool ours = false;
    for (const auto& o : owned) {
      ours =
          ours || name == o || name == o + ".lock" || is_temporary_of(name, o);
    }
    check(
        ours,
        option,
        " ",
        dir,
        ": holds '",
        name,
        "', which this command does not write; choose a new or empty "
        "directory");
  }
  check(
      !ec,
      option,
      " ",
      dir,
      ": cannot list the directory (",
      ec.message(),
      ")");
}

void replace_folder(const std::string& fresh, const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::rename(fresh, dir, ec);
    check(!ec, "cannot move ", fresh, " to ", dir, ": ", ec.message());
    return;
  }
  if (::renameat2(
          AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) ==
      0) {
    fs::remove_all(fresh, ec); // now the old contents
    return;
  }
  // No exchange on this file system: move the old folder aside first.
  const std::string aside = str_cat(dir, ".old.", ::getpid());
  fs::remove_all(aside, ec);
  fs::rename(dir, aside, ec);
  check(!ec, "cannot move ", dir, " aside: ", ec.message());
  fs::rename(fresh, dir, ec);
  check(!ec, "cannot move ", fresh, " to ", dir, ": ", ec.message());
  fs::remove_all(aside, ec);
}

void write_folder_atomic(
    const std::string& dir,
    const std::function<void(const std::string& fresh)>& fill) {
  // "out/" names the folder "out": without the slash, so that the fresh
  // folder lies beside it and the swap renames folder to folder.
  std::string name = fs::path(dir).lexically_normal().string();
  while (name.size() > 1 && name.back() == '/') {
    name.pop_back();
  }
  fs::path path(name);
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    // Written through, as write_file_atomic writes through a link: the
    // folder it points to is replaced, the link kept; a link to anything
    // but a folder is refused ("cannot write DIR: a symbolic link to
    // TARGET, which is not a folder").
    check(
        fs::is_directory(path, ec),
        "cannot write ",
        name,
        ": a symbolic link to ",
        fs::read_symlink(path, ec).string(),
        fs::exists(path, ec) ? ", which is not a folder" :
                               ", which does not exist");
    path = fs::canonical(path, ec);
    check(!ec, "cannot write ", name, ": ", ec.message());
  }
  remove_temporaries(
      path.has_parent_path() ? path.parent_path().string() : ".",
      path.filename().string(),
      Temporaries::kOfDeadProcesses);
  const std::string fresh =
      path.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(fresh, ec);
  make_dirs(fresh);
  try {
    fill(fresh);
    replace_folder(fresh, path.string());
  } catch (...) {
    fs::remove_all(fresh, ec);
    throw;
  }
}

} // namespace sdn
