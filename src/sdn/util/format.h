#pragma once

#include <cstdio>
#include <string>

namespace sdn {

/// std::snprintf into a std::string: `spec` is a printf format (pass at
/// least one argument) for the result tables whose layout printf fixed.
template <typename... Args>
std::string str_printf(const char* spec, Args... args) {
  const int size = std::snprintf(nullptr, 0, spec, args...);
  if (size <= 0) {
    return {};
  }
  std::string text(static_cast<size_t>(size) + 1, '\0');
  std::snprintf(text.data(), text.size(), spec, args...);
  text.pop_back();
  return text;
}

} // namespace sdn
