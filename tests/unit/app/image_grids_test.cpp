#include "sdn/app/image_grids.h"

#include "sdn/data/synthetic.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

sdn::data::Splits tiny_splits(int64_t channels) {
  sdn::data::DataOptions options;
  options.name = "synthetic";
  options.synthetic_train = 40;
  options.synthetic_test = 20;
  options.synthetic_classes = 4;
  options.synthetic_channels = channels;
  options.synthetic_side = 32;
  return sdn::data::make_synthetic_splits(options);
}

// Width, height, bit depth and colour type from a PNG's IHDR chunk.
struct PngHeader {
  uint32_t width = 0;
  uint32_t height = 0;
  int colour_type = -1;
};

PngHeader png_header(const std::string& png) {
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) |
        (uint32_t(uint8_t(png[at + 1])) << 16) |
        (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  return {be32(16), be32(20), uint8_t(png[25])};
}

} // namespace

TEST(ImageGrids, ImagePngIsTheUpscaledImage) {
  for (const int64_t channels : {1, 3}) {
    const auto splits = tiny_splits(channels);
    const std::string png = sdn::app::image_png(splits.test, 3, /*scale=*/2);
    ASSERT_GT(png.size(), 33u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
    const PngHeader h = png_header(png);
    EXPECT_EQ(h.width, 64u);
    EXPECT_EQ(h.height, 64u);
    // PNG colour types: 0 = grey, 2 = RGB.
    EXPECT_EQ(h.colour_type, channels == 1 ? 0 : 2);
  }
}

TEST(ImageGrids, TraceImagesSaysWhyWithoutThrowing) {
  sdn::analysis::ExitTrace trace;
  trace.split = "test";
  sdn::data::DatasetInfo info;
  std::string why;
  EXPECT_FALSE(sdn::app::trace_images(trace, info, why).has_value());
  EXPECT_NE(why.find("missing key 'data'"), std::string::npos) << why;
}
