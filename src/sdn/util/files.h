#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <vector>

namespace sdn {

/// Writes `contents` to `path` atomically: a temporary file beside it, closed,
/// then renamed over `path`. A symbolic link at `path` is written through
/// (its target is replaced, the link kept); anything there that is not a
/// regular file (a device such as /dev/null, a FIFO, a directory) is
/// refused: "cannot write PATH: expected a regular file or a new name, found
/// a device". Readers never see a half-written file. Throws
/// sdn::Error "cannot write PATH: REASON" (the system's reason, e.g. "No
/// space left on device") and removes the temporary file when any step
/// fails; `path` then keeps its previous contents.
void write_file_atomic(const std::string& path, const std::string& contents);

/// Reads a whole file. Only a regular file is read: a directory, a FIFO or
/// a device (/dev/zero) is refused at once, never waited on. Throws
/// sdn::Error naming the path ("PATH: cannot open file (REASON)", "PATH:
/// expected a regular file, found a directory").
std::string read_file(const std::string& path);

/// Parses a JSON file; throws sdn::Error naming the path on bad JSON.
nlohmann::json read_json(const std::string& path);

/// Writes pretty JSON atomically.
void write_json_atomic(const std::string& path, const nlohmann::json& value);

/// Creates a directory and its parents; throws sdn::Error on failure.
void make_dirs(const std::string& path);

/// Throws sdn::Error "OPTION DIR: no such folder" or "OPTION DIR: not a
/// folder (found a regular file)" unless `dir` is a directory.
void check_is_folder(const std::string& dir, const std::string& option);

/// True when `path` exists.
bool path_exists(const std::string& path);

/// Checks that `dir` may receive a command's outputs: it does not exist, or
/// it is a directory whose every entry is one the command writes: a name in
/// `owned`, that name with ".lock" (an output lock), or a temporary of it
/// (is_temporary_of). So `--out /` or `--out ~/photos` is refused before
/// anything is written, and so is `last.mine` beside `last`. Throws
/// sdn::Error "OPTION DIR: ..." naming the first foreign entry, or saying
/// that DIR is not a directory.
void check_output_folder(
    const std::string& dir,
    const std::string& option,
    const std::vector<std::string>& owned);

/// True when `name` is a temporary of `of` as sdn names them: "OF.tmp." and
/// digits (write_file_atomic's random suffix, a trace's process id).
bool is_temporary_of(const std::string& name, const std::string& of);

/// Which temporaries remove_temporaries removes.
enum class Temporaries {
  /// Every one: call only while holding the output's lock
  /// (util/output_lock.h), so that no live writer owns them.
  kAll,
  /// Those named OF.tmp.PID whose process PID no longer exists, so that a
  /// writer without a lock leaves live writers' temporaries alone.
  kOfDeadProcesses,
};

/// Removes the temporaries of `of` (is_temporary_of) in `dir`, files or
/// folders: what a killed writer left. Throws sdn::Error naming a path that
/// cannot be removed.
void remove_temporaries(
    const std::string& dir,
    const std::string& of,
    Temporaries which = Temporaries::kAll);

/// Puts the folder `fresh` (complete, beside `dir`) in the place of `dir`:
/// atomically exchanged when the file system supports it (renameat2
/// RENAME_EXCHANGE), else `dir` is moved aside first; the old contents are
/// then removed. Readers see the old folder or the new one, never a mix.
/// Throws sdn::Error naming the folders when a rename fails.
void replace_folder(const std::string& fresh, const std::string& dir);

/// Writes the folder `dir` whole: removes the temporaries of dead writers
/// (remove_temporaries, Temporaries::kOfDeadProcesses), lets `fill` write
/// every file into a fresh folder beside it (DIR.tmp.PID, passed to it),
/// then puts that folder in place of `dir` (replace_folder). When `fill` or
/// the swap throws, the fresh folder is removed and the exception passes
/// on: `dir` keeps its previous contents, a kill leaves only a temporary
/// the next writer removes.
void write_folder_atomic(
    const std::string& dir,
    const std::function<void(const std::string& fresh)>& fill);

} // namespace sdn
