#include "sdn/util/checksum.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace sdn {

uint32_t crc32_update(uint32_t crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  uLong value = crc;
  // zlib takes uInt lengths: feed large buffers in pieces.
  constexpr size_t kPiece = std::numeric_limits<uInt>::max();
  while (size > 0) {
    const size_t n = std::min(size, kPiece);
    value = ::crc32(value, bytes, static_cast<uInt>(n));
    bytes += n;
    size -= n;
  }
  return static_cast<uint32_t>(value);
}

std::string crc32_hex(uint32_t crc) {
  char buffer[9];
  std::snprintf(buffer, sizeof buffer, "%08x", crc);
  return buffer;
}

std::string crc32_hex(std::string_view bytes) {
  return crc32_hex(crc32_update(0, bytes.data(), bytes.size()));
}

} // namespace sdn
