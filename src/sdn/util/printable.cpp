// Names as messages show them (util/printable.h).
#include "sdn/util/printable.h"

#include <algorithm>

namespace sdn {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// The length of the well-formed UTF-8 sequence at `at` of a multi-byte
// lead byte (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF), or 0 when it is not one.
size_t utf8_sequence(const std::string& text, size_t at) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char c = byte(at);
  size_t n = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    low = c == 0xe0 ? 0xa0 : 0x80;
    high = c == 0xed ? 0x9f : 0xbf;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    low = c == 0xf0 ? 0x90 : 0x80;
    high = c == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (at + n > text.size() || byte(at + 1) < low || byte(at + 1) > high) {
    return 0;
  }
  for (size_t i = 2; i < n; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) {
      return 0;
    }
  }
  return n;
}

void append_hex(std::string& out, unsigned char c) {
  static const char* const kHex = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

} // namespace

std::string printable_name(const std::string& name) {
  std::string out;
  out.reserve(std::min<size_t>(name.size(), kMaxPrintedBytes) + 16);
  size_t at = 0;
  while (at < name.size() && at < kMaxPrintedBytes) {
    const auto c = static_cast<unsigned char>(name[at]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (is_control(c)) {
      append_hex(out, c);
    } else if (c >= 0x80) {
      const size_t n = utf8_sequence(name, at);
      if (n == 0) {
        append_hex(out, c);
      } else {
        out.append(name, at, n);
        at += n;
        continue;
      }
    } else {
      out += static_cast<char>(c);
    }
    ++at;
  }
  if (at < name.size()) {
    out += "... (" + std::to_string(name.size()) + " bytes in all)";
  }
  return out;
}

bool has_control_character(const std::string& name) {
  return std::any_of(name.begin(), name.end(), [](char c) {
    return is_control(static_cast<unsigned char>(c));
  });
}

bool is_utf8(const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    const size_t n = utf8_sequence(text, at);
    if (n == 0) {
      return false;
    }
    at += n;
  }
  return true;
}

} // namespace sdn
