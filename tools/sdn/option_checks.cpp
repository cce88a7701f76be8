#include "option_checks.h"

#include "sdn/util/error.h"
#include "sdn/util/printable.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace sdn::cli {

namespace {

// The whole of `text` as a number, or nothing.
std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string shortest(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", v);
  return buffer;
}

// A range validator: `ok` decides, `range` describes (e.g. "in [0, 1]").
CLI::Validator range_validator(
    const std::string& range,
    std::function<bool(double)> ok) {
  return CLI::Validator(
      [range, ok](std::string& text) -> std::string {
        const auto value = parse_number(text);
        if (!value || !std::isfinite(*value) || !ok(*value)) {
          // finite_number()'s range is "finite": said once.
          return "expected a finite number" +
              (range == "finite" ? std::string() : " " + range) + ", got " +
              text;
        }
        return "";
      },
      range,
      kRangeValidator);
}

} // namespace

CLI::Validator in_interval(
    double low,
    double high,
    Bound low_end,
    Bound high_end) {
  const bool low_in = low_end == Bound::kClosed;
  const bool high_in = high_end == Bound::kClosed;
  return range_validator(
      std::string("in ") + (low_in ? "[" : "(") + shortest(low) + ", " +
          shortest(high) + (high_in ? "]" : ")"),
      [=](double v) {
        return (low_in ? v >= low : v > low) &&
            (high_in ? v <= high : v < high);
      });
}

CLI::Validator in_range(double low, double high) {
  return in_interval(low, high, Bound::kClosed, Bound::kClosed);
}

CLI::Validator at_least(double low) {
  return range_validator(
      ">= " + shortest(low), [low](double v) { return v >= low; });
}

CLI::Validator above(double low) {
  return range_validator(
      "> " + shortest(low), [low](double v) { return v > low; });
}

CLI::Validator finite_number() {
  return range_validator("finite", [](double) { return true; });
}

namespace {

// The largest value of a signed integer option: counts, sizes, steps and
// coordinates. Far beyond any real use, and small enough that no product of
// two of them (a batch of images, a trigger's corner plus its size)
// overflows 64 bits.
constexpr int64_t kMaxSignedOption = 2147483647;

// Normalises and checks the text of an integer option: CLI11 reads integers
// with strtoll/strtoull base 0, which clamps values past 64 bits to the
// largest one and reads "010" (even " 010") as octal 8. Surrounding blanks
// are dropped, a decimal integer loses its leading zeros, and a decimal or
// 0x value must fit (signed: |v| <= kMaxSignedOption; unsigned: 64 bits).
// Other text is left to the range check and CLI11's conversion.
CLI::Validator integer_text(bool is_unsigned) {
  return CLI::Validator(
      [is_unsigned](std::string& text) -> std::string {
        const size_t begin = text.find_first_not_of(" \t\n\r\f\v");
        const size_t end = text.find_last_not_of(" \t\n\r\f\v");
        text = begin == std::string::npos ? std::string() :
                                            text.substr(begin, end - begin + 1);
        const bool sign = !text.empty() && (text[0] == '-' || text[0] == '+');
        std::string digits = text.substr(sign ? 1 : 0);
        if (!digits.empty() &&
            digits.find_first_not_of("0123456789") == std::string::npos) {
          // Leading zeros mean nothing in decimal (not octal).
          const size_t first = digits.find_first_not_of('0');
          digits = first == std::string::npos ? "0" : digits.substr(first);
          text = (text[0] == '-' ? "-" : "") + digits;
        }
        errno = 0;
        char* stop = nullptr;
        if (is_unsigned) {
          if (!text.empty() && text[0] == '-') {
            return ""; // the range check refuses it
          }
          (void)std::strtoull(text.c_str(), &stop, 0);
          if (stop == text.c_str() + text.size() && errno == ERANGE) {
            return "expected an integer that fits in 64 bits, got " + text;
          }
          return "";
        }
        const long long value = std::strtoll(text.c_str(), &stop, 0);
        if (stop == text.c_str() + text.size() && !text.empty() &&
            (errno == ERANGE || value > kMaxSignedOption ||
             value < -kMaxSignedOption)) {
          return "expected an integer of at most " +
              std::to_string(kMaxSignedOption) + " in size, got " + text;
        }
        return "";
      },
      "",
      "integer");
}

// Text options given an empty value: `--html ''` (an unset shell variable)
// would otherwise read as "not given".
// Text that is not UTF-8 (a path with a Latin-1 byte) would be refused
// later, when a checkpoint or report records it in JSON, by the JSON
// library's message naming no option.
CLI::Validator non_empty_text() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.empty()) {
          return std::string("expected a value, found an empty string");
        }
        if (!is_utf8(text)) {
          return std::string(
              "expected UTF-8 text (paths and names are recorded in JSON), "
              "found bytes that are not UTF-8");
        }
        return std::string();
      },
      "",
      "non-empty");
}

void add_value_checks(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    const bool is_unsigned = type.rfind("UINT", 0) == 0;
    if (is_unsigned || type.rfind("INT", 0) == 0) {
      // transform(), not check(): it rewrites the text (and runs first).
      option->transform(integer_text(is_unsigned));
    }
    if (type.rfind("TEXT", 0) == 0 && option->get_expected_max() > 0) {
      option->check(non_empty_text());
    }
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    add_value_checks(*sub);
  }
}

} // namespace

void check_option_values(CLI::App& app) {
  add_value_checks(app);
}

void reject_given(
    const CLI::App& sub,
    const std::vector<std::string>& names,
    const std::string& reason) {
  for (const auto& name : names) {
    const CLI::Option* option = sub.get_option_no_throw(name);
    check(option != nullptr, "reject_given: no option ", name);
    check(option->count() == 0, name, " has no effect ", reason);
  }
}

} // namespace sdn::cli
