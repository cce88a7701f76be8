#pragma once

// A picture of samples with their labels, for `sdn data show`.

#include "sdn/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::data {

/// An RGB picture, row-major interleaved (HWC), ready for sdn::encode_png.
struct GridImage {
  std::vector<uint8_t> pixels; ///< width * height * 3 bytes.
  int64_t width = 0; ///< Pixels per row.
  int64_t height = 0; ///< Rows.
};

/// The first `count` samples of `dataset` as a near-square grid of tiles, each
/// image enlarged `scale` times (nearest neighbour, greyscale shown as grey)
/// with its label index written under it in white 3x5-pixel digits (drawn
/// twice as large) on a dark strip. Throws sdn::Error on bad arguments.
GridImage sample_grid(const Dataset& dataset, int64_t count, int64_t scale);

/// Draws `text` (digits only) at (x, y) into an RGB image of `width` pixels
/// per row with a 3x5 font, each font pixel `scale` x `scale`.
void draw_digits(
    GridImage& image,
    const std::string& text,
    int64_t x,
    int64_t y,
    int64_t scale);

} // namespace sdn::data
