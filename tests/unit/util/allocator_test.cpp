#include "sdn/util/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

TEST(Allocator, KeepFreedMemoryTakesEffectWithGlibc) {
#if defined(__GLIBC__)
  EXPECT_TRUE(sdn::keep_freed_memory());
#else
  EXPECT_FALSE(sdn::keep_freed_memory());
#endif
  // Large blocks still allocate and free normally afterwards.
  constexpr size_t kBytes = 16 * 1024 * 1024;
  auto* p = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBytes);
  EXPECT_EQ(p[kBytes - 1], 1);
  std::free(p);
}
