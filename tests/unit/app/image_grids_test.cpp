#include "sdn/app/image_grids.h"

#include "sdn/data/synthetic.h"
#include "sdn/inference/trace_builder.h"

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

namespace {

// A trace of the first `n` test samples of tiny_splits(1), with the
// provenance `sdn eval` writes (probabilities are not looked at).
sdn::analysis::ExitTrace provenance_trace(int64_t n) {
  sdn::inference::TraceProvenance p;
  p.arch = "resnet56";
  p.dataset = "synthetic";
  p.mode = "sdn";
  p.data.name = "synthetic";
  p.data.synthetic_train = 40;
  p.data.synthetic_test = 20;
  p.data.synthetic_classes = 4;
  p.data.synthetic_channels = 1;
  p.data.synthetic_side = 32;
  p.data.val_size = 0; // the whole training split is train
  p.max_samples = n;
  sdn::analysis::ExitTrace trace;
  trace.meta = nlohmann::json::object();
  sdn::inference::write_provenance(p, trace.meta);
  trace.split = "test";
  trace.num_samples = n;
  trace.num_exits = 1;
  trace.num_classes = 4;
  const auto labels = tiny_splits(1).test.labels;
  for (int64_t i = 0; i < n; ++i) {
    trace.labels.push_back(labels[i].item<int64_t>());
  }
  return trace;
}

} // namespace

TEST(ImageGrids, TraceImagesReloadsTheTracesImages) {
  const auto trace = provenance_trace(6);
  sdn::data::DatasetInfo info;
  std::string why;
  const auto images = sdn::app::trace_images(trace, info, why);
  ASSERT_TRUE(images.has_value()) << why;
  EXPECT_EQ(images->size(), 6);
  EXPECT_TRUE(images->images.equal(tiny_splits(1).test.images.narrow(0, 0, 6)));
}

TEST(ImageGrids, TraceImagesRefusesATraceOfOtherImages) {
  struct Case {
    const char* what;
    void (*spoil)(sdn::analysis::ExitTrace&);
    const char* message;
  };
  const Case cases[] = {
      {"split",
       [](sdn::analysis::ExitTrace& t) { t.split = "bogus"; },
       "'split' must be train, val or test"},
      {"classes",
       [](sdn::analysis::ExitTrace& t) { t.num_classes = 5; },
       "the data set has 4 classes, the trace 5"},
      {"samples",
       [](sdn::analysis::ExitTrace& t) { t.meta["max_samples"] = 7; },
       "the trace 6"},
      {"labels",
       [](sdn::analysis::ExitTrace& t) { t.labels[3] = (t.labels[3] + 1) % 4; },
       "label of sample 3"},
  };
  for (const auto& c : cases) {
    auto trace = provenance_trace(6);
    c.spoil(trace);
    sdn::data::DatasetInfo info;
    std::string why;
    EXPECT_FALSE(sdn::app::trace_images(trace, info, why).has_value())
        << c.what;
    EXPECT_NE(why.find(c.message), std::string::npos) << c.what << ": " << why;
  }
}
