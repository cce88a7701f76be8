#include "sdn/util/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

// AddressSanitizer replaces glibc's malloc; its mallopt changes nothing.
#if defined(__SANITIZE_ADDRESS__)
#define SDN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SDN_TEST_ASAN 1
#endif
#endif

TEST(Allocator, KeepFreedMemoryTakesEffectWithGlibc) {
#if defined(__GLIBC__) && !defined(SDN_TEST_ASAN)
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
