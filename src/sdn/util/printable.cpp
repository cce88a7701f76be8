// Names as messages show them (util/printable.h).
#include "sdn/util/printable.h"

#include <algorithm>

namespace sdn {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

} // namespace

std::string printable_name(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (is_control(c)) {
      static const char* const kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

bool has_control_character(const std::string& name) {
  return std::any_of(name.begin(), name.end(), [](char c) {
    return is_control(static_cast<unsigned char>(c));
  });
}

} // namespace sdn
