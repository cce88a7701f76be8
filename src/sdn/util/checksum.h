#pragma once
// CRC-32 checksums (zlib's crc32: the IEEE 802.3 polynomial, as gzip and
// PNG use) of files sdn writes, so that a flipped bit is found on reading.
// A checksum against corruption, not against tampering.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sdn {

/// Continues the CRC-32 `crc` (0 to start) over `size` bytes at `data`.
uint32_t crc32_update(uint32_t crc, const void* data, size_t size);

/// The CRC-32 of `bytes` as 8 lower-case hex digits ("cbf43926" for
/// "123456789").
std::string crc32_hex(std::string_view bytes);

/// `crc` as 8 lower-case hex digits.
std::string crc32_hex(uint32_t crc);

} // namespace sdn
