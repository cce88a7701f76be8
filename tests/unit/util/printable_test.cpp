#include "sdn/util/printable.h"

#include <gtest/gtest.h>

TEST(Printable, ControlCharactersAreEscapedUtf8Kept) {
  EXPECT_EQ(sdn::printable_name("backbone.fc.weight"), "backbone.fc.weight");
  EXPECT_EQ(sdn::printable_name("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(
      sdn::printable_name("nl\nerror: fake\t\r"), "nl\\nerror: fake\\t\\r");
  EXPECT_EQ(
      sdn::printable_name(std::string("e\x1b[31m\x7f\0", 8)),
      "e\\x1b[31m\\x7f\\x00");
  EXPECT_EQ(sdn::printable_name("a\\n"), "a\\\\n");
  EXPECT_FALSE(sdn::has_control_character("a\\n caf\xc3\xa9"));
  EXPECT_TRUE(sdn::has_control_character("a\nb"));
  EXPECT_TRUE(sdn::has_control_character("\x7f"));
}
