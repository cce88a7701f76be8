#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sdn {

/// Encodes 8-bit pixels (row-major, interleaved HWC, 1 or 3 channels) as a
/// PNG file in memory. Throws sdn::Error on bad sizes.
std::string encode_png(
    const std::vector<uint8_t>& pixels,
    int64_t width,
    int64_t height,
    int64_t channels);

/// Writes encode_png's result to `path` atomically.
void write_png(
    const std::string& path,
    const std::vector<uint8_t>& pixels,
    int64_t width,
    int64_t height,
    int64_t channels);

} // namespace sdn
