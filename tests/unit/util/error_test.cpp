#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <string>

TEST(Error, StrCatJoinsWithStreamFormatting) {
  EXPECT_EQ(sdn::str_cat(), "");
  EXPECT_EQ(sdn::str_cat("a", 1, '-', 2.5, std::string("z")), "a1-2.5z");
}

TEST(Error, CheckThrowsTheMessageOnlyWhenTheConditionFails) {
  EXPECT_NO_THROW(sdn::check(true, "never"));
  try {
    sdn::check(false, "--lr must be > 0, got ", -1);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_STREQ(e.what(), "--lr must be > 0, got -1");
  }
  EXPECT_THROW(sdn::fail("x"), sdn::Error);
  // Callers may catch it as what it derives from.
  EXPECT_THROW(sdn::fail("x"), std::runtime_error);
}
