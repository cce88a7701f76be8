#pragma once

// Reading the JSON files of this area (checkpoint sidecars, training configs)
// key by key, so that an error names the key that is missing or malformed.
// Internal to src/sdn/checkpoint/; tested through config_test and
// checkpoint_test.

#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace sdn::checkpoint::detail {

/// Whether `v` can be read as T without nlohmann's float-to-integer cast,
/// which is undefined behaviour out of range ("epochs": 1e300): an integer
/// T must not be a JSON number with a fraction or exponent (nor negative
/// for an unsigned T). `what` says what T needs.
template <typename T>
struct IntegersFit {
  static constexpr bool kInteger =
      std::is_integral_v<T> && !std::is_same_v<T, bool>;
  static constexpr const char* what =
      std::is_unsigned_v<T> ? "a non-negative integer" : "an integer";
  static bool ok(const nlohmann::json& v) {
    if constexpr (!kInteger) {
      return true;
    } else if (!v.is_number()) {
      return true; // get<> rejects it with the type's message.
    } else if constexpr (std::is_unsigned_v<T>) {
      return v.is_number_unsigned();
    } else {
      return v.is_number_integer();
    }
  }
};

/// The same for every element of a vector.
template <typename T>
struct IntegersFit<std::vector<T>> {
  static constexpr const char* what = std::is_unsigned_v<T> ?
      "an array of non-negative integers" :
      "an array of integers";
  static bool ok(const nlohmann::json& v) {
    if (!v.is_array()) {
      return true; // get<> rejects it with the type's message.
    }
    for (const auto& x : v) {
      if (!IntegersFit<T>::ok(x)) {
        return false;
      }
    }
    return true;
  }
};

/// `j[key]` as T. Throws sdn::Error naming `path + key` (e.g. "config.lr")
/// when `j` is not an object, the key is missing or its value is not a T.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& path) {
  check(
      j.is_object(),
      "expected an object holding key '",
      path,
      key,
      "', got ",
      j.type_name());
  const auto it = j.find(key);
  check(it != j.end(), "missing key '", path, key, "'");
  check(
      IntegersFit<T>::ok(*it),
      "key '",
      path,
      key,
      "' must be ",
      IntegersFit<T>::what,
      ", got ",
      it->dump());
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(
        "key '",
        path,
        key,
        "' has a value of the wrong type (",
        it->type_name(),
        ")");
  }
}

} // namespace sdn::checkpoint::detail
