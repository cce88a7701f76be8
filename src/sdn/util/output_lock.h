#pragma once
// An advisory lock on an output path (a run folder, a trace folder, a paper
// folder), so that two processes never write the same output: the second
// one refuses at once, naming the folder and the process that holds it.
//
// The lock is flock(2) on the file PATH.lock beside PATH, holding the
// holder's pid and command line. The kernel releases it when the holder
// exits in any way (kill -9 included); a stale PATH.lock left by a killed
// process is simply taken over. Advisory: only sdn processes honour it.

#include <string>

namespace sdn {

class OutputLock {
 public:
  /// Takes the lock for writing `path` (creating its parent folder).
  /// Throws sdn::Error "PATH is being written by another process (pid N:
  /// COMMAND); wait for it to finish or choose another OPTION" when another
  /// process holds it, or naming PATH.lock when it cannot be created.
  /// `option` is how the user named `path` (e.g. "--out").
  static OutputLock acquire(const std::string& path, const std::string& option);

  /// Releases the lock and removes PATH.lock.
  ~OutputLock();
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  /// PATH.lock.
  const std::string& file() const {
    return file_;
  }

 private:
  OutputLock(std::string file, int fd);
  void release() noexcept;

  std::string file_;
  int fd_ = -1;
};

} // namespace sdn
