#pragma once

// Names from files (a tensor's, a zip record's, an image file's, a class
// folder's) as messages show them.

#include <cstddef>
#include <string>

namespace sdn {

/// The bytes of a name printable_name shows; the rest is counted.
inline constexpr size_t kMaxPrintedBytes = 200;

/// `name` with control characters (a newline, a tab, ESC...), DEL and bytes
/// that are not well-formed UTF-8 escaped C-style ("\n", "\t", "\x1b",
/// "\xff") and a backslash doubled, so that a message stays one line per
/// problem, cannot fake an `error:` line, and a terminal prints the name as
/// it is; UTF-8 text is kept. A name longer than kMaxPrintedBytes is cut
/// there and ends with "... (N bytes in all)".
std::string printable_name(const std::string& name);

/// True when `text` is well-formed UTF-8 (RFC 3629).
bool is_utf8(const std::string& text);

/// True when `name` holds a control character or DEL (printable_name
/// changes it other than by doubling a backslash).
bool has_control_character(const std::string& name);

} // namespace sdn
