#pragma once

// Names from files (a tensor's, a zip record's, an image file's, a class
// folder's) as messages show them.

#include <string>

namespace sdn {

/// `name` with control characters (a newline, a tab, ESC...) and DEL
/// escaped C-style ("\n", "\t", "\x1b") and a backslash doubled, so that a
/// message stays one line per problem, cannot fake an `error:` line, and a
/// terminal prints the name as it is. Other bytes (UTF-8) are kept.
std::string printable_name(const std::string& name);

/// True when `name` holds a control character or DEL (printable_name
/// changes it other than by doubling a backslash).
bool has_control_character(const std::string& name);

} // namespace sdn
