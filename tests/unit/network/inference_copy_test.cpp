// Inference copies: BatchNorm folding (equal within float rounding, staged
// run bit-identical to the folded forward), plain copies bit-identical,
// channels-last, the generator left alone, folded networks not trainable;
// ResNet's in-place block output.
#include "sdn/network/inference_copy.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sdn::network {
namespace {

NetworkOptions options_for(const std::string& arch) {
  NetworkOptions o;
  o.backbone.arch = arch;
  o.backbone.num_classes = 7;
  return o;
}

// Running statistics and affine parameters away from their 0/1 defaults, so
// that folding has something to fold.
void randomise_batch_norms(SdnNetworkImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.3, 0.3);
      bn->running_var.uniform_(0.5, 1.5);
      bn->weight.uniform_(0.7, 1.3);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
}

// Equal within float rounding, relative to the logits' scale.
bool close(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(1.0, a.abs().max().item<double>());
  return torch::allclose(a, b, /*rtol=*/1e-4, /*atol=*/1e-4 * scale);
}

class InferenceCopyArch : public ::testing::TestWithParam<std::string> {};

TEST_P(InferenceCopyArch, FoldedCopyGivesTheSameLogitsAndStagesBitForBit) {
  torch::manual_seed(3);
  SdnNetwork net(options_for(GetParam()));
  randomise_batch_norms(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  const auto reference = net->forward(x);

  InferenceCopyOptions plain_options;
  plain_options.fold_batch_norm = false;
  plain_options.channels_last = false;
  const auto plain = inference_copy(*net, plain_options)->forward(x);
  for (size_t e = 0; e < reference.size(); ++e) {
    EXPECT_TRUE(torch::equal(plain[e], reference[e])) << "exit " << e;
  }

  for (const bool channels_last : {false, true}) {
    SCOPED_TRACE(channels_last ? "channels-last" : "NCHW");
    InferenceCopyOptions o;
    o.channels_last = channels_last;
    auto folded = inference_copy(*net, o);
    EXPECT_TRUE(folded->folded());
    EXPECT_FALSE(net->folded());
    const auto input =
        channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
    const auto outputs = folded->forward(input);
    ASSERT_EQ(outputs.size(), reference.size());
    for (size_t e = 0; e < outputs.size(); ++e) {
      EXPECT_TRUE(close(reference[e], outputs[e]))
          << "exit " << e << ": max difference "
          << (reference[e] - outputs[e]).abs().max().item<double>();
    }
    // Early exit runs the folded copy in stages: same kernels, same bits.
    torch::Tensor state = folded->start(input);
    for (int64_t e = 0; e < folded->num_exits(); ++e) {
      auto [logits, next] = folded->step(e, state);
      EXPECT_TRUE(torch::equal(logits, outputs[static_cast<size_t>(e)]))
          << "exit " << e;
      state = next;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllArchs,
    InferenceCopyArch,
    ::testing::Values("vgg16", "resnet56", "wrn32_4", "mobilenet"),
    [](const auto& info) { return std::string(info.param); });

TEST(InferenceCopy, LeavesTheGeneratorAndTheSourceAlone) {
  SdnNetwork net(options_for("resnet56"));
  torch::manual_seed(11);
  const auto expected = torch::rand({4});
  torch::manual_seed(11);
  const auto copy = inference_copy(*net, InferenceCopyOptions{});
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
  // The source keeps its layout and mode; the copy does not share storage.
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE(copy->is_training());
  const auto w = net->named_parameters()["backbone.stem_conv.weight"];
  EXPECT_TRUE(w.is_contiguous());
  const auto a = net->named_parameters()["ic0.alpha"];
  const auto b = copy->named_parameters()["ic0.alpha"];
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_NE(a.data_ptr(), b.data_ptr());
}

TEST(InferenceCopy, FoldedNetworkRefusesTrainingAndCopies) {
  SdnNetwork net(options_for("mobilenet"));
  auto folded = inference_copy(*net, InferenceCopyOptions{});
  EXPECT_THROW(folded->train(), Error);
  folded->eval(); // eval stays allowed
  EXPECT_THROW(copy_network(*folded), Error);
  EXPECT_THROW(net->copy_backbone_from(*folded), Error);
  InferenceCopyOptions bad;
  bad.device = "tpu";
  EXPECT_THROW(inference_copy(*net, bad), Error);
}

TEST(ResNet, BlockOutputEqualsTheBlocksFirstOutput) {
  torch::manual_seed(4);
  SdnNetwork net(options_for("resnet56"));
  net->eval();
  torch::NoGradGuard no_grad;
  auto& backbone = *net->backbone();
  torch::Tensor h = backbone.stem(torch::randn({2, 3, 32, 32}));
  for (int64_t i = 0; i < backbone.num_blocks(); ++i) {
    const auto [out, features] = backbone.block(i, h);
    const auto only = backbone.block_output(i, h);
    EXPECT_TRUE(torch::equal(out, only)) << "block " << i;
    // block() keeps the pre-ReLU sum apart from its output.
    EXPECT_LT(features.min().item<float>(), 0.0F) << "block " << i;
    h = out;
  }
}

} // namespace
} // namespace sdn::network
