#include "sdn/util/output_lock.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace sdn {

namespace {

namespace fs = std::filesystem;

// This process's command line, arguments separated by spaces.
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  while (!all.empty() && all.back() == '\0') {
    all.pop_back();
  }
  for (char& c : all) {
    if (c == '\0') {
      c = ' ';
    }
  }
  return all;
}

// What the holder wrote into the lock file: "pid N: COMMAND".
std::string holder_of(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::pread(
              fd, buffer, sizeof buffer, static_cast<off_t>(text.size()))) >
         0) {
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > 16384) {
      break;
    }
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  const size_t newline = text.find('\n');
  if (newline == std::string::npos) {
    return "pid unknown";
  }
  return "pid " + text.substr(0, newline) + ": " + text.substr(newline + 1);
}

} // namespace

OutputLock OutputLock::acquire(
    const std::string& path,
    const std::string& option) {
  // One output, one lock, however it is spelled ("runs/sdn/", "runs/./sdn",
  // a symlink to it): the lock sits beside the canonical path.
  std::error_code ec;
  std::string base = fs::weakly_canonical(fs::absolute(path), ec).string();
  if (ec || base.empty()) {
    base = path;
  }
  while (base.size() > 1 && base.back() == '/') {
    base.pop_back();
  }
  const fs::path target(base);
  const std::string file = base + ".lock";
  if (target.has_parent_path()) {
    make_dirs(target.parent_path().string());
  }
  // A holder removes its lock file on release, so the file opened here may
  // have been unlinked in between: retry until the locked file is the one
  // at `file`.
  for (int attempt = 0; attempt < 100; ++attempt) {
    // O_NOFOLLOW: a symbolic link named like the lock is not followed (its
    // target would be overwritten with the holder's pid).
    const int fd =
        ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    check(
        fd >= 0,
        "cannot create the lock file ",
        file,
        ": ",
        errno == ELOOP ? "it is a symbolic link; remove it" :
                         std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      const std::string holder =
          error == EWOULDBLOCK ? holder_of(fd) : std::string();
      ::close(fd);
      check(
          error == EWOULDBLOCK,
          "cannot lock ",
          file,
          ": ",
          std::strerror(error));
      fail(
          path,
          " is being written by another process (",
          holder,
          "); wait for it to finish or choose another ",
          option);
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) != 0 || ::stat(file.c_str(), &named) != 0 ||
        held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string text =
        std::to_string(::getpid()) + "\n" + own_command_line() + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, text.data(), text.size(), 0) !=
            static_cast<ssize_t>(text.size())) {
      const int error = errno;
      ::unlink(file.c_str());
      ::close(fd);
      fail("cannot write ", file, ": ", std::strerror(error));
    }
    return OutputLock(file, fd);
  }
  fail("cannot lock ", file, ": it keeps being replaced");
}

OutputLock::OutputLock(std::string file, int fd)
    : file_(std::move(file)), fd_(fd) {}

OutputLock::~OutputLock() {
  release();
}

OutputLock::OutputLock(OutputLock&& other) noexcept
    : file_(std::move(other.file_)), fd_(std::exchange(other.fd_, -1)) {}

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::move(other.file_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void OutputLock::release() noexcept {
  if (fd_ < 0) {
    return;
  }
  // Unlink while still holding the lock: a process waiting on this inode
  // then sees that it is no longer the file at `file_` and retries.
  ::unlink(file_.c_str());
  ::close(fd_);
  fd_ = -1;
}

} // namespace sdn
