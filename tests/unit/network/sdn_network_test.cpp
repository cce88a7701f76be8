// SdnNetwork: IC placement and shapes (docs/architecture.md#ic-placement),
// gradients, the CNN -> SDN -> CNN round trip, submodule names, errors.
#include "sdn/network/sdn_network.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sdn::network {
namespace {

NetworkOptions options_for(
    const std::string& arch,
    int64_t side,
    int64_t classes,
    bool with_ics = true) {
  NetworkOptions o;
  o.backbone.arch = arch;
  o.backbone.input_side = side;
  o.backbone.num_classes = classes;
  o.with_ics = with_ics;
  return o;
}

struct IcShape {
  int64_t channels, side, kernel, features;
};

TEST(SdnNetwork, IcShapesMatchPlacementTable) {
  const std::vector<std::tuple<std::string, int64_t, std::vector<IcShape>>>
      table = {
          {"vgg16",
           32,
           {{64, 16, 4, 1024},
            {128, 8, 2, 2048},
            {256, 8, 2, 4096},
            {256, 4, 1, 4096},
            {512, 4, 1, 8192},
            {512, 2, 0, 2048}}},
          {"vgg16",
           64,
           {{64, 32, 8, 1024},
            {128, 16, 4, 2048},
            {256, 16, 4, 4096},
            {256, 8, 2, 4096},
            {512, 8, 2, 8192},
            {512, 4, 1, 8192}}},
          {"resnet56",
           32,
           {{16, 32, 8, 256},
            {16, 32, 8, 256},
            {32, 16, 4, 512},
            {32, 16, 4, 512},
            {64, 8, 2, 1024},
            {64, 8, 2, 1024}}},
          {"resnet56",
           64,
           {{16, 32, 8, 256},
            {16, 32, 8, 256},
            {32, 16, 4, 512},
            {32, 16, 4, 512},
            {64, 8, 2, 1024},
            {64, 8, 2, 1024}}},
          {"wrn32_4",
           32,
           {{64, 32, 8, 1024},
            {64, 32, 8, 1024},
            {128, 16, 4, 2048},
            {128, 16, 4, 2048},
            {256, 8, 2, 4096},
            {256, 8, 2, 4096}}},
          {"wrn32_4",
           64,
           {{64, 32, 8, 1024},
            {64, 32, 8, 1024},
            {128, 16, 4, 2048},
            {128, 16, 4, 2048},
            {256, 8, 2, 4096},
            {256, 8, 2, 4096}}},
          {"mobilenet",
           32,
           {{128, 16, 4, 2048},
            {256, 8, 2, 4096},
            {512, 4, 1, 8192},
            {512, 4, 1, 8192},
            {1024, 2, 0, 4096}}},
          {"mobilenet",
           64,
           {{128, 32, 8, 2048},
            {256, 16, 4, 4096},
            {512, 8, 2, 8192},
            {512, 8, 2, 8192},
            {1024, 4, 1, 16384}}},
      };
  for (const auto& [arch, side, shapes] : table) {
    SCOPED_TRACE(arch + " " + std::to_string(side) + "px");
    const int64_t classes = side == 64 ? 200 : 10;
    SdnNetwork net(options_for(arch, side, classes));
    ASSERT_EQ(net->num_ics(), static_cast<int64_t>(shapes.size()));
    ASSERT_EQ(net->num_exits(), net->num_ics() + 1);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto& ic = net->ics()[i];
      EXPECT_EQ(ic->options().channels(), shapes[i].channels) << "IC" << i;
      EXPECT_EQ(ic->options().side(), shapes[i].side) << "IC" << i;
      EXPECT_EQ(ic->kernel(), shapes[i].kernel) << "IC" << i;
      EXPECT_EQ(ic->features(), shapes[i].features) << "IC" << i;
      // features * classes + classes (+1 for alpha when pooling).
      EXPECT_EQ(
          ic->cost().params,
          shapes[i].features * classes + classes +
              (shapes[i].kernel > 0 ? 1 : 0));
    }
  }
}

TEST(SdnNetwork, SubmodulesHaveStableNames) {
  SdnNetwork net(options_for("mobilenet", 32, 10));
  const auto params = net->named_parameters();
  EXPECT_TRUE(params.contains("backbone.stem_conv.weight"));
  EXPECT_TRUE(params.contains("backbone.blocks.12.pw_bn.weight"));
  EXPECT_TRUE(params.contains("backbone.fc.weight"));
  EXPECT_TRUE(params.contains("ic0.alpha"));
  EXPECT_TRUE(params.contains("ic4.linear.weight"));
  EXPECT_FALSE(params.contains("ic4.alpha")); // 2x2 map: no pooling
  EXPECT_TRUE(net->named_buffers().contains("backbone.stem_bn.running_mean"));
  size_t split = net->backbone_parameters().size();
  for (int64_t i = 0; i < net->num_ics(); ++i) {
    split += net->ic_parameters(i).size();
  }
  EXPECT_EQ(split, params.size());
}

class SdnNetworkArch : public ::testing::TestWithParam<std::string> {};

TEST_P(SdnNetworkArch, BackwardReachesEveryIcWeightAndAlpha) {
  torch::manual_seed(6);
  NetworkOptions o = options_for(GetParam(), 32, 10);
  o.backbone.in_channels = 1;
  SdnNetwork net(o);
  net->train();
  const auto outputs = net->forward(torch::randn({2, 1, 32, 32}));
  const auto labels = torch::tensor({1, 2}, torch::kLong);
  torch::Tensor loss = torch::zeros({});
  for (const auto& out : outputs) {
    loss = loss + torch::cross_entropy_loss(out, labels);
  }
  loss.backward();
  for (int64_t i = 0; i < net->num_ics(); ++i) {
    const auto& ic = net->ics()[static_cast<size_t>(i)];
    const auto& w = ic->linear()->weight;
    ASSERT_TRUE(w.grad().defined()) << "IC" << i;
    EXPECT_GT(w.grad().abs().sum().item<float>(), 0) << "IC" << i;
    if (ic->kernel() > 0) {
      ASSERT_TRUE(ic->alpha().grad().defined()) << "IC" << i;
    }
    // For kernel 1 both pools are identities: alpha's gradient is 0.
    if (ic->kernel() > 1) {
      EXPECT_NE(ic->alpha().grad().item<float>(), 0) << "IC" << i;
    }
  }
  for (const auto& p : net->backbone_parameters()) {
    ASSERT_TRUE(p.grad().defined());
  }
}

TEST_P(SdnNetworkArch, CnnToSdnToCnnKeepsOutputsBitIdentical) {
  torch::manual_seed(7);
  SdnNetwork cnn(options_for(GetParam(), 32, 10, /*with_ics=*/false));
  EXPECT_EQ(cnn->num_exits(), 1);
  const auto x = torch::randn({2, 3, 32, 32});
  {
    // Move the BN running statistics away from their init.
    torch::NoGradGuard no_grad;
    cnn->train();
    cnn->forward(x);
  }
  cnn->eval();
  torch::NoGradGuard no_grad;
  const auto reference = cnn->forward(x).at(0);

  SdnNetwork sdn(options_for(GetParam(), 32, 10));
  sdn->copy_backbone_from(*cnn);
  sdn->eval();
  EXPECT_TRUE(torch::equal(sdn->forward(x).back(), reference));

  SdnNetwork back(options_for(GetParam(), 32, 10, /*with_ics=*/false));
  back->copy_backbone_from(*sdn);
  back->eval();
  EXPECT_TRUE(torch::equal(back->forward(x).at(0), reference));
  const auto a = cnn->backbone()->named_buffers();
  const auto b = back->backbone()->named_buffers();
  for (const auto& item : a) {
    EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllArchs,
    SdnNetworkArch,
    ::testing::Values("vgg16", "resnet56", "wrn32_4", "mobilenet"),
    [](const auto& info) { return std::string(info.param); });

TEST(SdnNetwork, CopyRejectsADifferentBackbone) {
  SdnNetwork a(options_for("resnet56", 32, 10));
  SdnNetwork b(options_for("resnet56", 32, 100));
  try {
    a->copy_backbone_from(*b);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("100 classes"), std::string::npos)
        << e.what();
  }
  // The WRN head momentum is not part of the weights.
  NetworkOptions m = options_for("wrn32_4", 32, 10, false);
  m.backbone.wrn_head_bn_momentum = 0.9;
  SdnNetwork wrn_cnn(m);
  SdnNetwork wrn_sdn(options_for("wrn32_4", 32, 10));
  EXPECT_NO_THROW(wrn_sdn->copy_backbone_from(*wrn_cnn));
}

TEST(SdnNetwork, CopyTensorsInPlaceOrAsClones) {
  torch::manual_seed(5);
  SdnNetwork a(options_for("mobilenet", 32, 10));
  SdnNetwork b(options_for("mobilenet", 32, 10));
  const void* kept = b->named_parameters()["ic0.alpha"].data_ptr();
  copy_tensors(*a, *b, TensorCopy::kInPlace, "probe");
  // In place: the target's storage (what optimisers hold) stays.
  EXPECT_EQ(b->named_parameters()["ic0.alpha"].data_ptr(), kept);
  SdnNetwork c(options_for("mobilenet", 32, 10));
  copy_tensors(*a, *c, TensorCopy::kClone, "probe");
  const auto source = a->named_parameters();
  for (SdnNetwork* target : {&b, &c}) {
    const auto params = (*target)->named_parameters();
    for (const auto& item : source) {
      EXPECT_TRUE(torch::equal(item.value(), params[item.key()])) << item.key();
      EXPECT_NE(item.value().data_ptr(), params[item.key()].data_ptr());
    }
  }
  for (const auto& item : a->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), c->named_buffers()[item.key()]));
  }

  // Mismatches are errors that start with `what`.
  SdnNetwork plain(options_for("mobilenet", 32, 10, /*with_ics=*/false));
  try {
    copy_tensors(*a, *plain, TensorCopy::kInPlace, "probe");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("probe: the source has", 0), 0u)
        << e.what();
  }
  EXPECT_THROW(
      copy_tensors(*plain, *a, TensorCopy::kClone, "probe"), Error); // ICs
  SdnNetwork wide(options_for("mobilenet", 32, 100));
  EXPECT_THROW(copy_tensors(*a, *wide, TensorCopy::kInPlace, "probe"), Error);
}

TEST(SdnNetwork, StepRejectsABadExit) {
  SdnNetwork net(options_for("mobilenet", 32, 10));
  const auto state = net->start(torch::zeros({1, 3, 32, 32}));
  EXPECT_THROW(net->step(6, state), Error);
  EXPECT_THROW(net->step(-1, state), Error);
  EXPECT_THROW(net->ic_parameters(5), Error);
}

} // namespace
} // namespace sdn::network
