#include "sdn/util/json_fields.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
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

} // namespace
