#include "sdn/util/checksum.h"

#include <gtest/gtest.h>

#include <string>

TEST(Checksum, MatchesTheCrc32CheckValue) {
  // The standard check value of CRC-32/ISO-HDLC.
  EXPECT_EQ(sdn::crc32_hex("123456789"), "cbf43926");
  EXPECT_EQ(sdn::crc32_hex(std::string()), "00000000");
}

TEST(Checksum, UpdatesInPiecesAsInOne) {
  const std::string text = "Shallow-Deep Networks";
  uint32_t crc = sdn::crc32_update(0, text.data(), 7);
  crc = sdn::crc32_update(crc, text.data() + 7, text.size() - 7);
  EXPECT_EQ(sdn::crc32_hex(crc), sdn::crc32_hex(text));
}

TEST(Checksum, FindsOneFlippedBit) {
  std::string bytes(4096, '\x5a');
  const std::string before = sdn::crc32_hex(bytes);
  for (size_t bit = 0; bit < bytes.size() * 8; bit += 997) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_NE(sdn::crc32_hex(flipped), before) << bit;
  }
}
