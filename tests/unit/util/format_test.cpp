#include "sdn/util/format.h"

#include <gtest/gtest.h>

#include <string>

TEST(Format, StrPrintfFormatsLikePrintf) {
  EXPECT_EQ(sdn::str_printf("%5.1f%%", 12.345), " 12.3%");
  EXPECT_EQ(sdn::str_printf("%-4s|%3d", "ab", 7), "ab  |  7");
  // Longer than any fixed buffer: sized by a first snprintf pass.
  const std::string long_text(1000, 'x');
  EXPECT_EQ(sdn::str_printf("%s!", long_text.c_str()), long_text + "!");
  EXPECT_EQ(sdn::str_printf("%s", ""), "");
}
