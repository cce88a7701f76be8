#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sdn {

/// The one exception type sdn's library throws for bad input, bad files and
/// bad parameters. `what()` is a complete sentence fit for an `error:` line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& out, const T& first, const Rest&... rest) {
  out << first;
  append(out, rest...);
}
} // namespace detail

/// Concatenates its arguments with operator<< into one string.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  detail::append(out, args...);
  return out.str();
}

/// Throws sdn::Error with the concatenated message.
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str_cat(args...));
}

/// Throws sdn::Error with the concatenated message unless `condition` holds.
template <typename... Args>
void check(bool condition, const Args&... args) {
  if (!condition) {
    fail(args...);
  }
}

} // namespace sdn
