#include "sdn/util/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

TEST(Timer, CountsUpAndResets) {
  sdn::Timer timer;
  const double first = timer.seconds();
  EXPECT_GE(first, 0.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double later = timer.seconds();
  EXPECT_GE(later, 0.02);
  timer.reset();
  EXPECT_LT(timer.seconds(), later);
}
