// sdn explain's library side: choosing samples, the Grad-CAM grid PNG, the
// files it writes, and the HTML report's grid, on a small random network
// saved as a checkpoint of synthetic data.
#include "sdn/app/explain.h"

#include "error_message.h"
#include "sdn/app/image_grids.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

using sdn::testing::error_message;

namespace {

// A random 4-class SDN on 1-channel synthetic data, saved in `dir`.
void write_small_checkpoint(const std::string& dir) {
  torch::manual_seed(3);
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 4;
  sdn::network::SdnNetwork network(o);
  sdn::checkpoint::TrainConfig c;
  c.mode = sdn::checkpoint::Mode::kSdn;
  c.data.name = "synthetic";
  c.data.synthetic_classes = 4;
  c.data.synthetic_channels = 1;
  c.data.synthetic_train = 64;
  c.data.synthetic_test = 24;
  c.data.val_size = 16;
  c.out = dir;
  sdn::checkpoint::EpochMetrics m;
  m.epoch = 1;
  m.train_accuracy.assign(7, 0.0);
  sdn::checkpoint::write_checkpoint(
      dir,
      network,
      sdn::checkpoint::make_checkpoint_meta(network, c, 1, m),
      "");
}

uint32_t be32(const std::string& png, size_t at) {
  return (uint32_t(uint8_t(png[at])) << 24) |
      (uint32_t(uint8_t(png[at + 1])) << 16) |
      (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
}

} // namespace

TEST(Explain, OptionsNameTheBadOne) {
  sdn::app::ExplainOptions o;
  EXPECT_NE(
      error_message([&] { o.validate(); }).find("--checkpoint"),
      std::string::npos);
  o.checkpoint = "c";
  o.samples = 1001;
  EXPECT_NE(
      error_message([&] {
        o.validate();
      }).find("--samples must be in [1, 1000]"),
      std::string::npos);
  o.samples = 2;
  o.select = "random";
  EXPECT_NE(
      error_message([&] { o.validate(); }).find("--select"), std::string::npos);
  o.select = "destructive";
  o.target = "label";
  EXPECT_NE(
      error_message([&] { o.validate(); }).find("--target"), std::string::npos);
}

TEST(Explain, GridPngIsARowPerSampleOfImageAndExits) {
  const auto images =
      torch::randint(0, 256, {3, 1, 8, 8}, torch::kInt64).to(torch::kUInt8);
  const auto maps = torch::rand({3, 5, 8, 8});
  const std::string png = sdn::app::grad_cam_png(images, maps, 2);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_EQ(be32(png, 16), 6u * 16 + 5 * 2); // image + 5 maps, 2-px gaps
  EXPECT_EQ(be32(png, 20), 3u * 16 + 2 * 2);
  EXPECT_EQ(uint8_t(png[25]), 2); // RGB
  // The maps are drawn: other maps, another picture; the same, the same.
  EXPECT_EQ(sdn::app::grad_cam_png(images, maps, 2), png);
  EXPECT_NE(sdn::app::grad_cam_png(images, 1 - maps, 2), png);
  EXPECT_THROW(
      sdn::app::grad_cam_png(images, maps.narrow(0, 0, 2), 2), sdn::Error);
}

TEST(Explain, ExplainsTheFirstSamplesAndWritesTheFolder) {
  sdn::testing::TempDir dir("explain");
  write_small_checkpoint(dir.str("ckpt"));
  sdn::app::ExplainOptions o;
  o.checkpoint = dir.str("ckpt");
  o.samples = 3;
  o.target = "true";
  o.out = dir.str("out");
  const sdn::app::Explanation x = sdn::app::explain(o);
  EXPECT_EQ(x.indices, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(x.cam.maps.sizes(), (std::vector<int64_t>{3, 7, 32, 32}));
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t e = 0; e < 7; ++e) {
      EXPECT_EQ(
          x.cam.targets[n][e].item<int64_t>(),
          x.images.labels[n].item<int64_t>());
    }
  }
  sdn::app::write_explanation(o, x);
  for (const auto& name : sdn::app::explain_files()) {
    EXPECT_TRUE(sdn::path_exists(dir.str("out/" + name))) << name;
  }
  const auto j = sdn::read_json(dir.str("out/explain.json"));
  EXPECT_EQ(j["samples"].size(), 3u);
  EXPECT_EQ(j["target"], "true");
  EXPECT_EQ(j["maps"]["shape"], nlohmann::json::array({3, 7, 32, 32}));
  // Written again over its own folder; a foreign file makes it refuse.
  sdn::app::write_explanation(o, x);
  sdn::write_file_atomic(dir.str("out/notes.txt"), "mine");
  EXPECT_NE(
      error_message([&] {
        sdn::app::write_explanation(o, x);
      }).find("notes.txt"),
      std::string::npos);
  EXPECT_TRUE(sdn::path_exists(dir.str("out/notes.txt")));
}

TEST(Explain, ReportGridNeedsTheTracesCheckpoint) {
  sdn::testing::TempDir dir("explain_grid");
  write_small_checkpoint(dir.str("ckpt"));
  sdn::inference::TraceOptions t;
  t.checkpoint = dir.str("ckpt");
  t.eval.progress = false;
  const auto trace = sdn::inference::evaluate_checkpoint(t);
  sdn::data::DatasetInfo info;
  std::string why;
  const auto images = sdn::app::trace_images(trace, info, why);
  ASSERT_TRUE(images) << why;
  const auto grid =
      sdn::app::grad_cam_grid(trace, trace.checkpoint, *images, info, 2, why);
  ASSERT_TRUE(grid) << why;
  EXPECT_EQ(grid->tiles.size(), 2u);
  EXPECT_EQ(grid->title, "Grad-CAM per exit");
  EXPECT_FALSE(
      sdn::app::grad_cam_grid(trace, dir.str("gone"), *images, info, 2, why));
  EXPECT_NE(why.find("gone"), std::string::npos) << why;
  std::vector<sdn::report::ImageGrid> grids;
  sdn::app::append_grad_cam_grid(
      grids, trace, trace.checkpoint, *images, info, 0);
  EXPECT_TRUE(grids.empty());
}
