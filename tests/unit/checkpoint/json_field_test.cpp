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
