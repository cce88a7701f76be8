#include "option_checks.h"

#include "sdn/util/error.h"

#include <cmath>
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
          return "expected a finite number " + range + ", got " + text;
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
