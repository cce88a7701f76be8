#pragma once

// Reading the JSON files of this area (checkpoint sidecars, training configs)
// key by key, so that an error names the key that is missing or malformed.
// Internal to src/sdn/checkpoint/; tested through config_test and
// checkpoint_test.

#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <string>

namespace sdn::checkpoint::detail {

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
