#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace sdn {

/// Writes `contents` to `path` atomically: a temporary file beside it, closed,
/// then renamed over `path`. Readers never see a half-written file. Throws
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

/// True when `path` exists.
bool path_exists(const std::string& path);

/// Checks that `dir` may receive a command's outputs: it does not exist, or
/// it is a directory whose every entry is one the command writes: a name in
/// `owned`, or one of them followed by "." and anything (last.new,
/// summary.json.tmp.123). So `--out /` or `--out ~/photos` is refused
/// before anything is written. Throws sdn::Error "OPTION DIR: ..." naming
/// the first foreign entry, or saying that DIR is not a directory.
void check_output_folder(
    const std::string& dir,
    const std::string& option,
    const std::vector<std::string>& owned);

/// Puts the folder `fresh` (complete, beside `dir`) in the place of `dir`:
/// atomically exchanged when the file system supports it (renameat2
/// RENAME_EXCHANGE), else `dir` is moved aside first; the old contents are
/// then removed. Readers see the old folder or the new one, never a mix.
/// Throws sdn::Error naming the folders when a rename fails.
void replace_folder(const std::string& fresh, const std::string& dir);

} // namespace sdn
