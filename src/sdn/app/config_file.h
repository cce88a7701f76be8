#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace sdn::app {

/// Expands `--config FILE` given to a subcommand into the options the TOML
/// file holds, for `app.parse`.
///
/// CLI11 (2.1, Debian's) reads a `set_config` file only for the main app,
/// never for a subcommand, so `sdn train --config F` and `sdn paper --config
/// F` would silently ignore F. This reads F with CLI11's own TOML parser and
/// inserts `--key value...` after the subcommand's name for every key, except
/// keys also given on the command line: the command line wins. Booleans turn
/// flags on (`true`) or leave them off (`false`); arrays become several
/// values. An unknown key, a `[section]`, a missing or unreadable file, or
/// a bad boolean throws `CLI::ConfigError`/`CLI::FileError` naming the file
/// and the key. Arguments after a lone `--` (`sdn launch -n 2 -- train ...`)
/// are left alone: the launched processes expand their own. A key given
/// twice, an array for a one-value option, a key without a value, and a
/// file that is not a regular file (a directory, a FIFO, /dev/zero) throw
/// naming the file too.
///
/// `args` excludes the program name and is in command-line order. When
/// `origin` is given, it receives the file each inserted option came from
/// (by its long name, e.g. "--lr"), so that an error about a value can name
/// the file.
std::vector<std::string> expand_config_files(
    CLI::App& app,
    std::vector<std::string> args,
    std::map<std::string, std::string>* origin = nullptr);

} // namespace sdn::app
