// Class-name checks shared by the data readers (data/class_names.h).
#include "sdn/data/class_names.h"

#include "sdn/util/error.h"
#include "sdn/util/printable.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace sdn::data {

namespace {

// Up to five names, quoted, then how many more.
std::string quoted(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) {
    out += (i == 0 ? "'" : ", '") + names[i] + "'";
  }
  if (names.size() > 5) {
    out += " and " + std::to_string(names.size() - 5) + " more";
  }
  return out;
}

} // namespace

void check_class_name(const std::string& name, const std::string& source) {
  check(
      !has_control_character(name),
      printable_name(source),
      ": the class name has a control character (a newline, a tab...): "
      "rename it");
  if (!is_utf8(name)) {
    std::string hex;
    for (const unsigned char c : name) {
      char byte[4];
      std::snprintf(byte, sizeof byte, "%02x", c);
      hex += (hex.empty() ? "" : " ") + std::string(byte);
    }
    fail(
        source,
        ": the class name is not valid UTF-8 (bytes ",
        hex,
        "): rename it (class names are kept in JSON)");
  }
}

void check_same_class_names(
    const std::vector<std::string>& found,
    const std::vector<std::string>& expected,
    const std::string& source,
    const std::string& what,
    const std::string& against) {
  if (found == expected) {
    return;
  }
  std::vector<std::string> found_sorted = found;
  std::vector<std::string> expected_sorted = expected;
  std::sort(found_sorted.begin(), found_sorted.end());
  std::sort(expected_sorted.begin(), expected_sorted.end());
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(
      expected_sorted.begin(),
      expected_sorted.end(),
      found_sorted.begin(),
      found_sorted.end(),
      std::back_inserter(missing));
  std::set_difference(
      found_sorted.begin(),
      found_sorted.end(),
      expected_sorted.begin(),
      expected_sorted.end(),
      std::back_inserter(extra));
  std::string detail;
  if (missing.empty() && extra.empty()) {
    detail = "the same names in another order";
  } else {
    detail = missing.empty() ? "" : "missing " + quoted(missing);
    if (!extra.empty()) {
      detail += (detail.empty() ? "" : "; ") + ("extra " + quoted(extra));
    }
  }
  fail(
      source,
      ": its ",
      found.size(),
      " ",
      what,
      " differ from ",
      against,
      " (",
      detail,
      ")");
}

} // namespace sdn::data
