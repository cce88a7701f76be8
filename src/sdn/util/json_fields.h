#pragma once

// Typed JSON for result structs: SDN_JSON_FIELDS(Type, a, b, ...) defines
// to_json and from_json from one list of members, each written under its own
// name. Reading requires every key and the right JSON type, and throws
// sdn::json_fields::FieldError (an sdn::Error) naming the whole path of the
// bad key ("overthinking.destructive.rate", "sweep[3].cost") with what was
// expected and what was found. std::optional members are written as null
// when empty and read from null; std::vector members as arrays and
// std::map<std::string, T> members as objects.
//
// Use the macro in the namespace of Type (ADL finds the functions there),
// typically in the .cpp beside the header that declares
//   void to_json(nlohmann::json&, const Type&);
//   void from_json(const nlohmann::json&, Type&);
// Types whose keys are not identifiers, or with keys that are left out when
// empty, write the two functions by hand with write_field / read_field.

#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sdn::json_fields {

/// A missing key or a value of the wrong type at `path()` ("" for the value
/// being read itself). what(): "missing key 'a.b'" or "key 'a.b': expected
/// number, found string".
class FieldError : public Error {
 public:
  /// `reason` is "missing" or "expected X, found Y".
  FieldError(std::string path, std::string reason)
      : Error(message(path, reason)),
        path_(std::move(path)),
        reason_(std::move(reason)) {}
  /// The key's path from the value being read ("" for the value itself).
  const std::string& path() const {
    return path_;
  }
  /// "missing" or "expected X, found Y".
  const std::string& reason() const {
    return reason_;
  }
  /// The same error one level up: `key` (an object key or "[i]") before
  /// the path.
  FieldError under(const std::string& key) const {
    const bool index = !path_.empty() && path_.front() == '[';
    return FieldError(
        path_.empty() ? key :
            index     ? key + path_ :
                        key + "." + path_,
        reason_);
  }

 private:
  static std::string message(
      const std::string& path,
      const std::string& reason) {
    if (path.empty()) {
      return reason;
    }
    if (reason == "missing") {
      return "missing key '" + path + "'";
    }
    return "key '" + path + "': " + reason;
  }
  std::string path_;
  std::string reason_;
};

/// Throws FieldError("", "expected `what`, found <j's type>").
[[noreturn]] inline void wrong_type(const nlohmann::json& j, const char* what) {
  throw FieldError(
      "", std::string("expected ") + what + ", found " + j.type_name());
}

/// Throws unless `j` is an object.
inline void expect_object(const nlohmann::json& j) {
  if (!j.is_object()) {
    wrong_type(j, "object");
  }
}

/// Reads a number (integer or not).
inline void read_value(const nlohmann::json& j, double& out) {
  if (!j.is_number()) {
    wrong_type(j, "number");
  }
  out = j.get<double>();
}

/// Reads an integer (a JSON number without fraction or exponent).
inline void read_value(const nlohmann::json& j, int64_t& out) {
  if (!j.is_number_integer()) {
    wrong_type(j, "integer");
  }
  out = j.get<int64_t>();
}

/// Reads a non-negative integer (seeds).
inline void read_value(const nlohmann::json& j, uint64_t& out) {
  if (!j.is_number_unsigned()) {
    wrong_type(j, "non-negative integer");
  }
  out = j.get<uint64_t>();
}

/// Reads true or false.
inline void read_value(const nlohmann::json& j, bool& out) {
  if (!j.is_boolean()) {
    wrong_type(j, "boolean");
  }
  out = j.get<bool>();
}

/// Reads a string.
inline void read_value(const nlohmann::json& j, std::string& out) {
  if (!j.is_string()) {
    wrong_type(j, "string");
  }
  out = j.get<std::string>();
}

/// Copies any JSON value (free-form members).
inline void read_value(const nlohmann::json& j, nlohmann::json& out) {
  out = j;
}

template <typename T>
void read_value(const nlohmann::json& j, std::optional<T>& out);
template <typename T>
void read_value(const nlohmann::json& j, std::vector<T>& out);
template <typename T>
void read_value(const nlohmann::json& j, std::map<std::string, T>& out);

/// Reads a struct through its from_json (found by ADL).
template <typename T>
void read_value(const nlohmann::json& j, T& out) {
  expect_object(j);
  from_json(j, out);
}

/// Reads null as nullopt, anything else as T.
template <typename T>
void read_value(const nlohmann::json& j, std::optional<T>& out) {
  if (j.is_null()) {
    out.reset();
    return;
  }
  T value{};
  read_value(j, value);
  out = std::move(value);
}

/// Reads an array element by element; a bad element's path is "[i]".
template <typename T>
void read_value(const nlohmann::json& j, std::vector<T>& out) {
  if (!j.is_array()) {
    wrong_type(j, "array");
  }
  out.clear();
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    T value{};
    try {
      read_value(j[i], value);
    } catch (const FieldError& e) {
      throw e.under("[" + std::to_string(i) + "]");
    }
    out.push_back(std::move(value));
  }
}

/// Reads an object key by key; a bad value's path is its key.
template <typename T>
void read_value(const nlohmann::json& j, std::map<std::string, T>& out) {
  expect_object(j);
  out.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    T value{};
    try {
      read_value(it.value(), value);
    } catch (const FieldError& e) {
      throw e.under(it.key());
    }
    out.emplace(it.key(), std::move(value));
  }
}

/// Reads `j[key]` into `out`; throws FieldError naming `key` (and the path
/// below it) when it is missing or of the wrong type.
template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out) {
  expect_object(j);
  const auto it = j.find(key);
  if (it == j.end()) {
    throw FieldError(key, "missing");
  }
  try {
    read_value(*it, out);
  } catch (const FieldError& e) {
    throw e.under(key);
  }
}

/// `j[key]` as T, for readers that walk a document by hand; `path` is the
/// key's parent path with its dot ("config.", "" at the top), so that the
/// FieldError names the whole path ("key 'config.lr': expected number,
/// found string"). Throws FieldError.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& path) {
  T out{};
  try {
    read_field(j, key, out);
  } catch (const FieldError& e) {
    std::string where = path + e.path();
    if (e.path().empty() && !where.empty() && where.back() == '.') {
      where.pop_back(); // `j` itself is not an object
    }
    throw FieldError(where, e.reason());
  }
  return out;
}

/// Like read_field, but a missing key (only) leaves `out` empty.
template <typename T>
void read_optional_field(
    const nlohmann::json& j,
    const char* key,
    std::optional<T>& out) {
  expect_object(j);
  if (!j.contains(key)) {
    out.reset();
    return;
  }
  read_field(j, key, out);
}

/// Writes any value nlohmann can (numbers, strings, structs with to_json).
template <typename T>
void write_value(nlohmann::json& j, const T& value) {
  j = value;
}

template <typename T>
void write_value(nlohmann::json& j, const std::vector<T>& values);
template <typename T>
void write_value(nlohmann::json& j, const std::map<std::string, T>& values);

/// Writes nullopt as null.
template <typename T>
void write_value(nlohmann::json& j, const std::optional<T>& value) {
  if (value) {
    write_value(j, *value);
  } else {
    j = nullptr;
  }
}

/// Writes an array (elements through write_value, so optionals work).
template <typename T>
void write_value(nlohmann::json& j, const std::vector<T>& values) {
  j = nlohmann::json::array();
  for (const T& v : values) {
    nlohmann::json element;
    write_value(element, v);
    j.push_back(std::move(element));
  }
}

/// Writes an object (values through write_value, so optionals work).
template <typename T>
void write_value(nlohmann::json& j, const std::map<std::string, T>& values) {
  j = nlohmann::json::object();
  for (const auto& [key, v] : values) {
    write_value(j[key], v);
  }
}

/// Sets `j[key]` to `value`.
template <typename T>
void write_field(nlohmann::json& j, const char* key, const T& value) {
  write_value(j[key], value);
}

/// Sets `j[key]` only when `value` holds something (keys that are left out,
/// not null, when empty).
template <typename T>
void write_optional_field(
    nlohmann::json& j,
    const char* key,
    const std::optional<T>& value) {
  if (value) {
    write_value(j[key], *value);
  }
}

} // namespace sdn::json_fields

/// One member in SDN_JSON_FIELDS's to_json.
#define SDN_JSON_WRITE_FIELD(member) \
  ::sdn::json_fields::write_field(sdn_json_j, #member, sdn_json_t.member);
/// One member in SDN_JSON_FIELDS's from_json.
#define SDN_JSON_READ_FIELD(member) \
  ::sdn::json_fields::read_field(sdn_json_j, #member, sdn_json_t.member);

/// Defines to_json and from_json of Type from its members, each under its
/// own name (declare both in Type's header; use this in its namespace).
#define SDN_JSON_FIELDS(Type, ...)                                     \
  void to_json(nlohmann::json& sdn_json_j, const Type& sdn_json_t) {   \
    sdn_json_j = nlohmann::json::object();                             \
    NLOHMANN_JSON_EXPAND(                                              \
        NLOHMANN_JSON_PASTE(SDN_JSON_WRITE_FIELD, __VA_ARGS__))        \
  }                                                                    \
  void from_json(const nlohmann::json& sdn_json_j, Type& sdn_json_t) { \
    ::sdn::json_fields::expect_object(sdn_json_j);                     \
    NLOHMANN_JSON_EXPAND(                                              \
        NLOHMANN_JSON_PASTE(SDN_JSON_READ_FIELD, __VA_ARGS__))         \
  }
