#include "sdn/util/progress.h"

#include <gtest/gtest.h>

#include <string>

// Under ctest stderr is a pipe or file, so the bar prints plain lines.

TEST(Progress, PlainFinalLineHasCountsUnitAndSuffix) {
  ::testing::internal::CaptureStderr();
  {
    sdn::Progress progress("eval", /*total=*/10, "img");
    progress.advance(4);
    progress.advance(6);
    progress.finish("acc 90%");
    progress.finish("again"); // a second finish draws nothing
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  // Quick work prints no intermediate line, only the final one.
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  ASSERT_EQ(err.find("eval 100% 10/10"), 0u) << err;
  EXPECT_NE(err.find("img/s in "), std::string::npos) << err;
  EXPECT_NE(err.find(" acc 90%\n"), std::string::npos) << err;
  EXPECT_EQ(err.find("again"), std::string::npos) << err;
}

TEST(Progress, DisabledIsSilent) {
  ::testing::internal::CaptureStderr();
  {
    sdn::Progress progress("train", 5, "img", /*enabled=*/false);
    progress.advance(5);
    progress.finish();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}
