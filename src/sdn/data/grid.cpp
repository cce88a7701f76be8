// Sample grids: tiles plus a tiny built-in digit font for the labels.
#include "sdn/data/grid.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>

namespace sdn::data {

namespace {

// 3x5 digit glyphs, one row per entry, bit 2 = left column.
constexpr uint8_t kDigits[10][5] = {
    {7, 5, 5, 5, 7}, // 0
    {2, 6, 2, 2, 7}, // 1
    {7, 1, 7, 4, 7}, // 2
    {7, 1, 7, 1, 7}, // 3
    {5, 5, 7, 1, 1}, // 4
    {7, 4, 7, 1, 7}, // 5
    {7, 4, 7, 5, 7}, // 6
    {7, 1, 1, 1, 1}, // 7
    {7, 5, 7, 5, 7}, // 8
    {7, 5, 7, 1, 7}, // 9
};
// Font pixels are drawn this large: 6x10-pixel digits are easy to read.
constexpr int64_t kFontScale = 2;
// Space around tiles and inside the label strip, in pixels.
constexpr int64_t kGap = 4;
// Background grey and label strip grey: tiles stand out from both.
constexpr uint8_t kBackground = 48;
constexpr uint8_t kStrip = 16;

void fill(
    GridImage& image,
    int64_t x,
    int64_t y,
    int64_t w,
    int64_t h,
    uint8_t value) {
  for (int64_t r = y; r < y + h; ++r) {
    std::fill_n(image.pixels.begin() + (r * image.width + x) * 3, w * 3, value);
  }
}

} // namespace

void draw_digits(
    GridImage& image,
    const std::string& text,
    int64_t x,
    int64_t y,
    int64_t scale) {
  for (size_t k = 0; k < text.size(); ++k) {
    check(
        text[k] >= '0' && text[k] <= '9',
        "draw_digits: not a digit: '",
        text[k],
        "'");
    const auto& glyph = kDigits[text[k] - '0'];
    const int64_t left = x + static_cast<int64_t>(k) * 4 * scale;
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 3; ++c) {
        if (((glyph[r] >> (2 - c)) & 1) == 0) {
          continue;
        }
        for (int64_t dy = 0; dy < scale; ++dy) {
          for (int64_t dx = 0; dx < scale; ++dx) {
            const int64_t px = left + c * scale + dx;
            const int64_t py = y + r * scale + dy;
            if (px >= 0 && px < image.width && py >= 0 && py < image.height) {
              const auto at = static_cast<size_t>((py * image.width + px) * 3);
              image.pixels[at] = image.pixels[at + 1] = image.pixels[at + 2] =
                  255;
            }
          }
        }
      }
    }
  }
}

GridImage sample_grid(const Dataset& dataset, int64_t count, int64_t scale) {
  check(count > 0, "--count must be > 0, got ", count);
  check(scale >= 1 && scale <= 16, "--scale must be in [1, 16], got ", scale);
  check(dataset.size() > 0, "the split is empty: nothing to show");
  check(
      dataset.images.dim() == 4 &&
          dataset.images.scalar_type() == torch::kUInt8,
      "sample_grid expects uint8 images [N, C, H, W]");
  count = std::min(count, dataset.size());
  const int64_t channels = dataset.images.size(1);
  const int64_t side_h = dataset.images.size(2) * scale;
  const int64_t side_w = dataset.images.size(3) * scale;
  const int64_t strip = 5 * kFontScale + 2 * (kGap / 2);
  const auto columns =
      static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  const int64_t rows = (count + columns - 1) / columns;
  const int64_t cell_w = std::max(side_w, 3 * 4 * kFontScale) + kGap;
  const int64_t cell_h = side_h + strip + kGap;
  GridImage image;
  image.width = columns * cell_w + kGap;
  image.height = rows * cell_h + kGap;
  image.pixels.assign(
      static_cast<size_t>(image.width * image.height * 3), kBackground);
  const auto images = dataset.images.contiguous();
  const auto labels = dataset.labels.to(torch::kInt64).contiguous();
  const auto* pixels = images.data_ptr<uint8_t>();
  const int64_t h = dataset.images.size(2), w = dataset.images.size(3);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t x0 = kGap + (i % columns) * cell_w;
    const int64_t y0 = kGap + (i / columns) * cell_h;
    const uint8_t* src = pixels + i * channels * h * w;
    for (int64_t y = 0; y < side_h; ++y) {
      for (int64_t x = 0; x < side_w; ++x) {
        const int64_t p = (y / scale) * w + x / scale;
        const auto at =
            static_cast<size_t>(((y0 + y) * image.width + x0 + x) * 3);
        for (int64_t c = 0; c < 3; ++c) {
          image.pixels[at + static_cast<size_t>(c)] =
              src[(channels == 3 ? c : 0) * h * w + p];
        }
      }
    }
    fill(image, x0, y0 + side_h, side_w, strip, kStrip);
    draw_digits(
        image,
        std::to_string(labels.data_ptr<int64_t>()[i]),
        x0 + kGap / 2,
        y0 + side_h + kGap / 2,
        kFontScale);
  }
  return image;
}

} // namespace sdn::data
