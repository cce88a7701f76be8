#include "sdn/util/json_fields.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace json_fields_test {

struct Inner {
  double x = 0;
  std::optional<double> maybe;
};

struct Outer {
  std::string name;
  int64_t count = 0;
  bool flag = false;
  std::vector<Inner> items;
  std::optional<Inner> extra;
  std::vector<std::optional<double>> values;
  nlohmann::json free;
};

void to_json(nlohmann::json& j, const Inner& value);
void from_json(const nlohmann::json& j, Inner& value);
void to_json(nlohmann::json& j, const Outer& value);
void from_json(const nlohmann::json& j, Outer& value);

SDN_JSON_FIELDS(Inner, x, maybe)
SDN_JSON_FIELDS(Outer, name, count, flag, items, extra, values, free)

} // namespace json_fields_test

namespace {

using json_fields_test::Inner;
using json_fields_test::Outer;
using nlohmann::json;

const json kOuter = json::parse(R"({
  "name": "a", "count": 3, "flag": true,
  "items": [{"x": 1.5, "maybe": null}, {"x": 2, "maybe": 0.25}],
  "extra": null, "values": [1.0, null], "free": {"any": ["thing"]}
})");

// The message of the sdn::Error reading `j` as Outer throws ("" if none).
std::string read_error(const json& j) {
  try {
    (void)j.get<Outer>();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonFields, RoundTripsWithNullForEmptyOptionals) {
  const Outer o = kOuter.get<Outer>();
  EXPECT_EQ(o.name, "a");
  EXPECT_EQ(o.count, 3);
  ASSERT_EQ(o.items.size(), 2u);
  EXPECT_FALSE(o.items[0].maybe.has_value());
  EXPECT_EQ(o.items[1].maybe, 0.25);
  EXPECT_FALSE(o.extra.has_value());
  EXPECT_FALSE(o.values[1].has_value());
  EXPECT_EQ(json(o), kOuter);
}

TEST(JsonFields, ErrorsNameThePathExpectedAndFound) {
  json j = kOuter;
  j.erase("count");
  EXPECT_EQ(read_error(j), "missing key 'count'");
  j = kOuter;
  j["items"][1].erase("x");
  EXPECT_EQ(read_error(j), "missing key 'items[1].x'");
  j = kOuter;
  j["items"][0]["x"] = "1";
  EXPECT_EQ(read_error(j), "key 'items[0].x': expected number, found string");
  j = kOuter;
  j["count"] = 2.5;
  EXPECT_EQ(read_error(j), "key 'count': expected integer, found number");
  j = kOuter;
  j["values"][0] = true;
  EXPECT_EQ(read_error(j), "key 'values[0]': expected number, found boolean");
  j = kOuter;
  j["extra"] = json::array();
  EXPECT_EQ(read_error(j), "key 'extra': expected object, found array");
  EXPECT_EQ(read_error(json(7)), "expected object, found number");
}

TEST(JsonFields, OptionalFieldsMayBeLeftOut) {
  std::optional<std::string> title;
  json j = json::object();
  sdn::json_fields::write_optional_field(j, "title", title);
  EXPECT_EQ(j, json::object());
  sdn::json_fields::read_optional_field(j, "title", title);
  EXPECT_FALSE(title.has_value());
  title = "t";
  sdn::json_fields::write_optional_field(j, "title", title);
  EXPECT_EQ(j, json({{"title", "t"}}));
  title.reset();
  sdn::json_fields::read_optional_field(j, "title", title);
  EXPECT_EQ(title, "t");
  j["title"] = 1;
  EXPECT_THROW(
      sdn::json_fields::read_optional_field(j, "title", title),
      sdn::json_fields::FieldError);
}

// field<T>: a key read by hand under a parent path ("config.").
TEST(JsonFields, FieldNamesTheWholePath) {
  using sdn::json_fields::field;
  const auto error = [](const std::function<void()>& read) -> std::string {
    try {
      read();
    } catch (const sdn::json_fields::FieldError& e) {
      return e.what();
    }
    return "";
  };
  const auto j = json::parse(
      R"({"lr": 0.1, "arch": "vgg16", "epochs": 1e300, "seed": -1,
          "blocks": [1, 2.5], "ok": [3, 4], "n": 7, "u": 8})");
  EXPECT_DOUBLE_EQ(field<double>(j, "lr", "config."), 0.1);
  EXPECT_EQ(field<std::string>(j, "arch", ""), "vgg16");
  EXPECT_EQ(field<int64_t>(j, "n", ""), 7);
  EXPECT_EQ(field<uint64_t>(j, "u", ""), 8U);
  EXPECT_EQ(
      field<std::vector<int64_t>>(j, "ok", ""), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(
      error([&] { field<double>(j, "missing", "config."); }),
      "missing key 'config.missing'");
  EXPECT_EQ(
      error([&] { field<double>(j, "arch", "config."); }),
      "key 'config.arch': expected number, found string");
  EXPECT_EQ(
      error([&] { field<double>(json(3), "lr", "config."); }),
      "key 'config': expected object, found number");
  // Integers must be JSON integers: nlohmann's float-to-integer cast is
  // undefined out of range (found by fuzz/checkpoint_meta.cpp).
  EXPECT_EQ(
      error([&] { field<int64_t>(j, "epochs", "config."); }),
      "key 'config.epochs': expected integer, found number");
  EXPECT_EQ(
      error([&] { field<uint64_t>(j, "seed", "data."); }),
      "key 'data.seed': expected non-negative integer, found number");
  EXPECT_EQ(
      error([&] { field<std::vector<int64_t>>(j, "blocks", ""); }),
      "key 'blocks[1]': expected integer, found number");
}

} // namespace
