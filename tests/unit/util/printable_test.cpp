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

// Bytes that are not UTF-8 are escaped (a terminal would show them as
// garbage or swallow them); a huge name is cut and its size said.
TEST(Printable, InvalidUtf8IsEscapedLongNamesAreCut) {
  EXPECT_EQ(
      sdn::printable_name("a\xff\xfe"
                          "b"),
      "a\\xff\\xfeb");
  // Overlong, surrogate, cut and past-U+10FFFF sequences.
  EXPECT_EQ(sdn::printable_name("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(sdn::printable_name("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(sdn::printable_name("caf\xc3"), "caf\\xc3");
  EXPECT_EQ(sdn::printable_name("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(
      sdn::printable_name("\xf0\x9f\x98\x80 \xe2\x82\xac"),
      "\xf0\x9f\x98\x80 \xe2\x82\xac");
  const std::string huge(10'000'000, 'n');
  EXPECT_EQ(
      sdn::printable_name(huge),
      std::string(sdn::kMaxPrintedBytes, 'n') + "... (10000000 bytes in all)");
  EXPECT_TRUE(sdn::is_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(sdn::is_utf8("a\xff"));
  EXPECT_FALSE(sdn::is_utf8(std::string(
      "\xff\xfe"
      "a\0b\0",
      6)));
}
