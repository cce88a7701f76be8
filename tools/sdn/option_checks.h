#pragma once
// Checks every numeric option of `sdn` carries, so that no value can mean
// "not given" and no out-of-range or non-finite value reaches the library.
// Whether an option was given is its count(), never a sentinel value.
//
// Each validator is named kRangeValidator and describes its range in a
// fixed form ("in [LOW, HIGH]" with ( or ) for an open end, ">= LOW", "> LOW",
// "finite"): tests/integration/cli_options_test.cpp finds every numeric option
// through CLI11 and probes its range with values just outside it, nan and inf.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sdn::cli {

/// The name of the range validators below.
inline constexpr const char* kRangeValidator = "range";

/// A finite number in [low, high]. Rejects nan, inf and text that is not a
/// number with "expected a finite number in [low, high], got VALUE" (CLI11
/// prefixes the option's name).
CLI::Validator in_range(double low, double high);

/// Whether an interval includes its end point.
enum class Bound { kClosed, kOpen };

/// A finite number between low and high, each end included or not
/// ("in [0, 1)", "in (0, 1]").
CLI::Validator in_interval(
    double low,
    double high,
    Bound low_end,
    Bound high_end);

/// A finite number >= low.
CLI::Validator at_least(double low);

/// A finite number > low.
CLI::Validator above(double low);

/// Any finite number (for a parameter whose range depends on another
/// option, checked where that is known).
CLI::Validator finite_number();

/// Adds to every integer option of `app` and its subcommands (CLI11 type
/// INT or UINT) a transform, named "integer", run before the range check:
/// blanks around the value are dropped, a decimal integer loses its leading
/// zeros, and a decimal or 0x value must fit: a signed option (a count, a
/// size, a step, a coordinate) at most 2^31-1 in size, so that no product
/// of two overflows; an unsigned one (seeds) 64 bits. CLI11 alone would
/// clamp 99999999999999999999 to the largest 64-bit value and read "010" as
/// octal 8. Every text option (TEXT) also refuses an empty value
/// ("expected a value, found an empty string"): `--html ''` from an unset
/// shell variable would otherwise read as not given. Call once, after every
/// option is added.
void check_option_values(CLI::App& app);

/// `value` when `option` was given (its count()), else nothing: how a
/// subcommand hands the library an option that has no default.
template <typename T>
std::optional<T> given(const CLI::Option* option, const T& value) {
  return option->count() > 0 ? std::optional<T>(value) : std::nullopt;
}

/// Throws sdn::Error when any of `names` (options of `sub`) was given:
/// "NAME has no effect REASON". For options that do nothing in a mode.
void reject_given(
    const CLI::App& sub,
    const std::vector<std::string>& names,
    const std::string& reason);

} // namespace sdn::cli
