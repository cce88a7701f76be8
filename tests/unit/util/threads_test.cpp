#include "sdn/util/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

TEST(Threads, DefaultIsOnePerCoreAndOverrideWins) {
  EXPECT_EQ(sdn::configure_threads(0), sdn::hardware_threads());
  EXPECT_EQ(sdn::configure_threads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
}
