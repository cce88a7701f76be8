// The counting rules (docs/architecture.md#counting-rules) and the resulting
// per-exit cost table of docs/architecture.md#per-exit-costs for all 12 network
// / data-set rows.
#include "sdn/models/cost.h"
#include "sdn/network/sdn_network.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sdn::models {
namespace {

TEST(CostCounter, ConvCountsMultsAddsAndBias) {
  CostCounter c;
  // 3x3 conv 2->4 on 8x8, pad 1: 18 mults + 17 adds + 1 bias per output.
  EXPECT_EQ(c.conv(2, 4, 8, 3, 1, 1, /*bias=*/true), 8);
  EXPECT_DOUBLE_EQ(c.total().ops, 36.0 * 4 * 8 * 8);
  EXPECT_DOUBLE_EQ(c.total().macs, 18.0 * 4 * 8 * 8);
  EXPECT_EQ(c.total().params, 18 * 4 + 4);
}

TEST(CostCounter, DepthwiseConvKeepsTheGroupsQuirkOnlyInOps) {
  CostCounter c;
  EXPECT_EQ(c.conv(4, 4, 4, 3, 2, 1, /*bias=*/false, /*groups=*/4), 2);
  // (9 mults + 8 adds) * numel(out) * groups: the profiler's bug.
  EXPECT_DOUBLE_EQ(c.total().ops, 17.0 * 4 * 2 * 2 * 4);
  EXPECT_DOUBLE_EQ(c.total().macs, 9.0 * 4 * 2 * 2);
  EXPECT_EQ(c.total().params, 36);
}

TEST(CostCounter, BnReluPoolsLinear) {
  CostCounter c;
  c.batch_norm(3, 4);
  EXPECT_DOUBLE_EQ(c.take().ops, 2.0 * 48);
  c.relu(10);
  EXPECT_DOUBLE_EQ(c.take().ops, 10);
  EXPECT_EQ(c.max_pool(3, 8, 2), 4);
  EXPECT_DOUBLE_EQ(c.take().ops, 1.0 * 48); // (k - 1) * numel(out)
  EXPECT_EQ(c.avg_pool(3, 8, 2), 4);
  EXPECT_DOUBLE_EQ(c.take().ops, 2.0 * 48); // integer k * numel(out)
  c.linear(5, 3);
  const Cost linear = c.take();
  EXPECT_DOUBLE_EQ(linear.ops, 9.0 * 3);
  EXPECT_DOUBLE_EQ(linear.macs, 15);
  EXPECT_EQ(linear.params, 18);
  EXPECT_DOUBLE_EQ(c.total().ops, 0);
}

TEST(CostTrace, ReadsLayersFromTheirOptionsAndFollowsTheShape) {
  torch::nn::Conv2d conv(
      torch::nn::Conv2dOptions(4, 4, 3).stride(2).padding(1).groups(4).bias(
          false));
  torch::nn::BatchNorm2d bn(4);
  torch::nn::Linear fc(16, 3);
  CostTrace trace(4, 8);
  CostTrace shortcut = trace.branch();
  trace.conv(*conv);
  trace.batch_norm(*bn);
  trace.relu();
  EXPECT_EQ(trace.shape(), (std::vector<int64_t>{4, 4, 4}));
  shortcut.max_pool(2);
  trace.join(shortcut);
  trace.avg_pool(2);
  trace.flatten();
  EXPECT_EQ(trace.flattened(), 16);
  trace.linear(*fc);
  EXPECT_EQ(trace.shape(), (std::vector<int64_t>{3, 1, 1}));

  CostCounter expected;
  expected.conv(4, 4, 8, 3, 2, 1, /*bias=*/false, /*groups=*/4);
  expected.batch_norm(4, 4);
  expected.relu(64);
  expected.max_pool(4, 8, 2);
  expected.avg_pool(4, 4, 2);
  expected.linear(16, 3);
  const Cost got = trace.take();
  EXPECT_DOUBLE_EQ(got.ops, expected.total().ops);
  EXPECT_DOUBLE_EQ(got.macs, expected.total().macs);
  EXPECT_EQ(got.params, expected.total().params);
  EXPECT_DOUBLE_EQ(trace.take().ops, 0);
}

TEST(CostTrace, RejectsLayersThatDoNotFitTheMap) {
  CostTrace trace(3, 8);
  EXPECT_THROW(
      trace.conv(*torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3))), Error);
  EXPECT_THROW(trace.batch_norm(*torch::nn::BatchNorm2d(5)), Error);
  EXPECT_THROW(trace.linear(*torch::nn::Linear(3, 2)), Error); // not flat
  EXPECT_THROW(
      trace.conv(*torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, {1, 3}))),
      Error);
  CostTrace other(3, 4);
  EXPECT_THROW(trace.join(other), Error);
}

struct TableRow {
  std::string arch;
  int64_t side;
  int64_t classes;
  double cnn_gops;
  std::vector<double> ic_percent;
  double sdn_over_cnn_percent;
};

// docs/architecture.md#per-exit-costs, verbatim.
const std::vector<TableRow>& paper_cost_table() {
  static const std::vector<TableRow> rows = {
      {"vgg16", 32, 10, 0.628, {12.6, 30.7, 48.8, 60.8, 78.9, 90.9}, 0.07},
      {"vgg16", 32, 100, 0.628, {12.7, 30.8, 49.0, 61.1, 79.4, 91.5}, 0.69},
      {"vgg16", 64, 200, 2.522, {12.6, 30.6, 48.7, 60.7, 78.8, 90.9}, 0.44},
      {"resnet56", 32, 10, 0.253, {15.4, 30.5, 44.7, 59.7, 73.8, 88.8}, 0.04},
      {"resnet56", 32, 100, 0.253, {15.4, 30.5, 44.7, 59.8, 74.0, 89.1}, 0.29},
      {"resnet56", 64, 200, 0.253, {15.5, 30.5, 44.8, 59.9, 74.2, 89.3}, 0.58},
      {"wrn32_4", 32, 10, 2.375, {16.9, 29.6, 45.7, 58.5, 74.6, 87.3}, 0.02},
      {"wrn32_4", 32, 100, 2.375, {16.9, 29.6, 45.8, 58.5, 74.6, 87.4}, 0.12},
      {"wrn32_4", 64, 200, 2.375, {16.9, 29.6, 45.8, 58.6, 74.7, 87.5}, 0.24},
      {"mobilenet", 32, 10, 0.750, {16.8, 30.4, 44.0, 65.3, 89.5}, 0.08},
      {"mobilenet", 32, 100, 0.751, {16.9, 30.5, 44.3, 65.8, 90.1}, 0.72},
      {"mobilenet", 64, 200, 3.002, {16.8, 30.5, 44.1, 65.5, 89.9}, 0.52},
  };
  return rows;
}

network::CostTable costs_of(
    const std::string& arch,
    int64_t side,
    int64_t classes) {
  network::NetworkOptions o;
  o.backbone.arch = arch;
  o.backbone.input_side = side;
  o.backbone.num_classes = classes;
  return network::SdnNetworkImpl(o).costs();
}

TEST(CostTable, PaperModeReproducesSpecTable) {
  for (const auto& row : paper_cost_table()) {
    SCOPED_TRACE(
        row.arch + " " + std::to_string(row.side) + "px " +
        std::to_string(row.classes) + " classes");
    const auto table = costs_of(row.arch, row.side, row.classes);
    const double cnn = table.cnn.ops;
    EXPECT_NEAR(cnn / 1e9, row.cnn_gops, 0.005 * row.cnn_gops);
    ASSERT_EQ(table.exits.size(), row.ic_percent.size() + 1);
    for (size_t i = 0; i < row.ic_percent.size(); ++i) {
      EXPECT_NEAR(100 * table.exits[i].ops / cnn, row.ic_percent[i], 0.2)
          << "IC" << i + 1;
    }
    // The table rounds to 0.01 %: allow that rounding only.
    EXPECT_NEAR(
        100 * (table.exits.back().ops / cnn - 1),
        row.sdn_over_cnn_percent,
        0.0051);
  }
}

TEST(CostTable, ExactModeMatchesHandCounts) {
  // Summed by hand from the layer shapes (conv and linear MACs only).
  EXPECT_DOUBLE_EQ(costs_of("resnet56", 32, 10).cnn.macs, 125747840.0);
  EXPECT_DOUBLE_EQ(costs_of("mobilenet", 32, 10).cnn.macs, 46354432.0);
  // Without the depthwise quirk MobileNet's ICs sit at ~22/36/50/68/91 %.
  const auto m = costs_of("mobilenet", 32, 10);
  const std::vector<double> expected = {21.6, 35.8, 49.8, 68.4, 91.4};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(100 * m.exits[i].macs / m.cnn.macs, expected[i], 0.1);
  }
  // ResNet-56 at 64 px costs the same as at 32 px (stride-2 stem).
  EXPECT_DOUBLE_EQ(
      costs_of("resnet56", 64, 10).cnn.macs,
      costs_of("resnet56", 32, 10).cnn.macs);
}

TEST(CostTable, WithoutIcsTheOnlyExitIsTheCnn) {
  network::NetworkOptions o;
  o.backbone.arch = "mobilenet";
  o.with_ics = false;
  const auto table = network::SdnNetworkImpl(o).costs();
  ASSERT_EQ(table.exits.size(), 1u);
  EXPECT_DOUBLE_EQ(table.exits[0].ops, table.cnn.ops);
  EXPECT_DOUBLE_EQ(table.exits[0].macs, table.cnn.macs);
  EXPECT_EQ(table.exits[0].params, table.cnn.params);
}

} // namespace
} // namespace sdn::models
