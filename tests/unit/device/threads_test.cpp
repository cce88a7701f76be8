#include "sdn/device/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>

TEST(Threads, DefaultIsOnePerCoreAndOverrideWins) {
  EXPECT_EQ(sdn::configure_threads(0), sdn::hardware_threads());
  EXPECT_EQ(sdn::configure_threads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
}

TEST(Threads, BlasRunsSingleThreadedUnlessTheUserSaidOtherwise) {
  if (sdn::blas_threads() == 0) {
    GTEST_SKIP() << "the loaded BLAS has no thread control (not OpenBLAS)";
  }
  const int initial = sdn::set_blas_threads(0);
  EXPECT_GE(initial, 1);
  sdn::configure_threads(0);
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    EXPECT_EQ(sdn::blas_threads(), 1);
  } else {
    EXPECT_EQ(sdn::blas_threads(), initial);
  }
  EXPECT_EQ(sdn::set_blas_threads(0), initial);
}
