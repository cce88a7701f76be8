#include "error_message.h"
#include "sdn/checkpoint/json_field.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

using sdn::testing::error_message;

namespace {} // namespace

TEST(JsonField, ReadsTypedValuesAndNamesTheKeyPath) {
  using sdn::checkpoint::detail::field;
  const auto j = nlohmann::json::parse(R"({"lr": 0.1, "arch": "vgg16"})");
  EXPECT_DOUBLE_EQ(field<double>(j, "lr", "config."), 0.1);
  EXPECT_EQ(field<std::string>(j, "arch", ""), "vgg16");
  EXPECT_EQ(
      error_message([&] { field<double>(j, "epochs", "config."); }),
      "missing key 'config.epochs'");
  EXPECT_EQ(
      error_message([&] { field<double>(j, "arch", "config."); }),
      "key 'config.arch' has a value of the wrong type (string)");
  EXPECT_EQ(
      error_message([&] { field<double>(nlohmann::json(3), "lr", "config."); }),
      "expected an object holding key 'config.lr', got number");
}

// nlohmann's float-to-integer cast is undefined out of range: integers must
// be JSON integers (found by fuzz/checkpoint_meta.cpp).
TEST(JsonField, IntegersMustBeJsonIntegers) {
  using sdn::checkpoint::detail::field;
  const auto j = nlohmann::json::parse(
      R"({"epochs": 1e300, "seed": -1, "blocks": [1, 2.5], "ok": [3, 4],
          "n": 7, "u": 8, "name": "x"})");
  EXPECT_EQ(field<int64_t>(j, "n", ""), 7);
  EXPECT_EQ(field<uint64_t>(j, "u", ""), 8U);
  EXPECT_EQ(
      field<std::vector<int64_t>>(j, "ok", ""), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(
      error_message([&] { field<int64_t>(j, "epochs", "config."); }),
      "key 'config.epochs' must be an integer, got 1e+300");
  EXPECT_EQ(
      error_message([&] { field<uint64_t>(j, "seed", "data."); }),
      "key 'data.seed' must be a non-negative integer, got -1");
  EXPECT_EQ(
      error_message([&] { field<std::vector<int64_t>>(j, "blocks", ""); }),
      "key 'blocks' must be an array of integers, got [1,2.5]");
  EXPECT_EQ(
      error_message([&] { field<int64_t>(j, "name", ""); }),
      "key 'name' has a value of the wrong type (string)");
}
