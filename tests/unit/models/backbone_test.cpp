// Backbones: shapes of every block and exit, analytic parameter counts,
// channels-last input, the ResNet pre-ReLU features, option validation.
#include "sdn/models/backbone.h"
#include "sdn/network/sdn_network.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sdn::models {
namespace {

BackboneOptions options_for(
    const std::string& arch,
    int64_t side,
    int64_t channels,
    int64_t classes) {
  BackboneOptions o;
  o.arch = arch;
  o.input_side = side;
  o.in_channels = channels;
  o.num_classes = classes;
  return o;
}

int64_t numel_of(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.numel();
  }
  return n;
}

std::vector<int64_t> with_batch(int64_t n, std::vector<int64_t> shape) {
  shape.insert(shape.begin(), n);
  return shape;
}

void check_shapes_and_stages(
    const std::string& arch,
    int64_t side,
    int64_t channels) {
  torch::manual_seed(1);
  network::NetworkOptions o;
  o.backbone = options_for(arch, side, channels, 7);
  network::SdnNetwork net(o);
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t batch = side == 64 ? 1 : 2; // 64 px VGG / WRN are heavy
  const auto x = torch::randn({batch, channels, side, side});

  const auto outputs = net->forward(x);
  ASSERT_EQ(static_cast<int64_t>(outputs.size()), net->num_exits());
  for (const auto& out : outputs) {
    EXPECT_EQ(out.sizes(), torch::IntArrayRef({batch, 7}));
  }

  // Every block's IC features have the advertised shape; head = final exit.
  auto& backbone = *net->backbone();
  torch::Tensor h = backbone.stem(x);
  for (int64_t i = 0; i < backbone.num_blocks(); ++i) {
    auto [out, features] = backbone.block(i, h);
    EXPECT_EQ(
        features.sizes(),
        torch::IntArrayRef(with_batch(batch, backbone.block_feature_shape(i))))
        << "block " << i;
    EXPECT_EQ(out.sizes(), features.sizes()) << "block " << i;
    h = out;
  }
  EXPECT_TRUE(torch::equal(backbone.head(h), outputs.back()));
  EXPECT_TRUE(torch::equal(backbone.forward(x), outputs.back()));

  // Staged execution gives every exit bit for bit.
  torch::Tensor state = net->start(x);
  for (int64_t e = 0; e < net->num_exits(); ++e) {
    auto [logits, next] = net->step(e, state);
    EXPECT_TRUE(torch::equal(logits, outputs[static_cast<size_t>(e)]))
        << "exit " << e;
    EXPECT_EQ(next.defined(), e + 1 < net->num_exits());
    state = next;
  }

  // The analytic parameter count is the modules' real one.
  EXPECT_EQ(net->costs().cnn.params, numel_of(backbone.parameters()));
  EXPECT_EQ(net->costs().exits.back().params, numel_of(net->parameters()));
}

class BackboneShapes : public ::testing::TestWithParam<std::string> {};

// One test per architecture over side {32, 64} x channels {1, 3}: each ctest
// case is a process that loads LibTorch, so fewer, fuller cases run faster.
TEST_P(BackboneShapes, BlocksExitsAndStagedRunAgree) {
  for (const int64_t side : {32, 64}) {
    for (const int64_t channels : {1, 3}) {
      SCOPED_TRACE(
          GetParam() + " " + std::to_string(side) + "px " +
          std::to_string(channels) + "ch");
      check_shapes_and_stages(GetParam(), side, channels);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllArchs,
    BackboneShapes,
    ::testing::Values("vgg16", "resnet56", "wrn32_4", "mobilenet"),
    [](const auto& info) { return std::string(info.param); });

class BackboneArch : public ::testing::TestWithParam<std::string> {};

TEST_P(BackboneArch, ChannelsLastInputGivesTheSameLogits) {
  torch::manual_seed(2);
  network::NetworkOptions o;
  o.backbone = options_for(GetParam(), 32, 3, 10);
  network::SdnNetwork net(o);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  const auto plain = net->forward(x);
  const auto cl = net->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  ASSERT_EQ(plain.size(), cl.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(torch::allclose(plain[i], cl[i], 1e-4, 1e-5)) << "exit " << i;
  }
  // Eval mode is deterministic.
  const auto again = net->forward(x);
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_TRUE(torch::equal(plain[i], again[i])) << "exit " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllArchs,
    BackboneArch,
    ::testing::Values("vgg16", "resnet56", "wrn32_4", "mobilenet"),
    [](const auto& info) { return std::string(info.param); });

TEST(ResNet, IcSeesTheResidualSumBeforeTheRelu) {
  torch::manual_seed(3);
  auto backbone = make_backbone(options_for("resnet56", 32, 3, 10));
  backbone->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor h = backbone->stem(torch::randn({2, 3, 32, 32}));
  for (int64_t i = 0; i < 4; ++i) {
    auto [out, features] = backbone->block(i, h);
    EXPECT_LT(features.min().item<float>(), 0) << "block " << i;
    EXPECT_GE(out.min().item<float>(), 0) << "block " << i;
    EXPECT_TRUE(torch::equal(out, torch::relu(features))) << "block " << i;
    h = out;
  }
}

TEST(Backbone, WrnHeadMomentumIsAnOption) {
  auto o = options_for("wrn32_4", 32, 3, 10);
  o.wrn_head_bn_momentum = 0.9;
  auto backbone = make_backbone(o);
  const auto* bn =
      backbone->named_modules()["head_bn"]->as<torch::nn::BatchNorm2d>();
  ASSERT_NE(bn, nullptr);
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.9);
}

TEST(Backbone, IcPlacementFollowsTheSpec) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"vgg16", {1, 3, 5, 6, 8, 9}},
      {"resnet56", {3, 7, 11, 15, 19, 23}},
      {"wrn32_4", {2, 4, 6, 8, 10, 12}},
      {"mobilenet", {2, 4, 6, 8, 11}},
  };
  const std::vector<int64_t> blocks = {13, 27, 15, 13};
  for (size_t i = 0; i < expected.size(); ++i) {
    auto b = make_backbone(options_for(expected[i].first, 32, 3, 10));
    EXPECT_EQ(b->ic_blocks(), expected[i].second) << expected[i].first;
    EXPECT_EQ(b->num_blocks(), blocks[i]) << expected[i].first;
  }
}

TEST(Registry, NamesComeFromTheTableAndEachFactoryBuildsItsArch) {
  const auto& table = backbone_registry();
  ASSERT_EQ(arch_names().size(), table.size());
  const std::vector<std::string> expected = {
      "vgg16", "resnet56", "wrn32_4", "mobilenet"};
  EXPECT_EQ(arch_names(), expected);
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(arch_names()[i], table[i].first);
    const auto o = options_for(table[i].first, 32, 1, 10);
    const auto built = table[i].second(o);
    EXPECT_EQ(built->options().arch, table[i].first);
    // make_backbone builds the same network from the same seed.
    torch::manual_seed(9);
    const auto direct = table[i].second(o);
    torch::manual_seed(9);
    const auto named = make_backbone(o);
    const auto a = direct->named_parameters();
    const auto b = named->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& item : a) {
      EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
    }
  }
}

std::string error_of(const BackboneOptions& o) {
  try {
    make_backbone(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Backbone, BadOptionsAreRejectedByName) {
  auto o = options_for("alexnet", 32, 3, 10);
  const std::string unknown = error_of(o);
  EXPECT_NE(unknown.find("alexnet"), std::string::npos) << unknown;
  for (const auto& name : arch_names()) {
    EXPECT_NE(unknown.find(name), std::string::npos) << unknown;
  }
  EXPECT_NE(
      error_of(options_for("vgg16", 32, 2, 10)).find("in_channels"),
      std::string::npos);
  EXPECT_NE(
      error_of(options_for("vgg16", 28, 3, 10)).find("input_side"),
      std::string::npos);
  EXPECT_NE(
      error_of(options_for("vgg16", 32, 3, 1)).find("num_classes"),
      std::string::npos);
  auto m = options_for("wrn32_4", 32, 3, 10);
  m.wrn_head_bn_momentum = 0;
  EXPECT_NE(error_of(m).find("wrn_head_bn_momentum"), std::string::npos);
}

TEST(Backbone, WrongInputShapeNamesTheExpectedOne) {
  auto b = make_backbone(options_for("mobilenet", 32, 1, 10));
  try {
    b->forward(torch::zeros({1, 3, 32, 32}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 1, 32, 32]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(b->block(13, torch::zeros({1, 1024, 2, 2})), Error);
  EXPECT_THROW(b->block_feature_shape(-1), Error);
}

} // namespace
} // namespace sdn::models
