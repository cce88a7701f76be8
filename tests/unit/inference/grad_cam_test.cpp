// Grad-CAM per exit (inference/grad_cam.h) on a small random network.
#include "sdn/inference/grad_cam.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using sdn::testing::error_message;

namespace {

sdn::network::SdnNetwork small_network() {
  torch::manual_seed(5);
  sdn::network::NetworkOptions options;
  options.backbone.arch = "resnet56";
  options.backbone.in_channels = 1;
  options.backbone.input_side = 32;
  options.backbone.num_classes = 4;
  sdn::network::SdnNetwork network(options);
  network->eval();
  return network;
}

torch::Tensor inputs(int64_t n) {
  torch::manual_seed(9);
  return torch::randn({n, 1, 32, 32});
}

// Grad-CAM of exit `e` for one sample and class, computed another way:
// backward() with retained feature gradients, the weighted sum by hand and
// the upsampling by upsample_bilinear2d.
torch::Tensor reference_map(
    sdn::network::SdnNetwork& network,
    const torch::Tensor& x,
    int64_t e,
    int64_t target) {
  std::vector<torch::Tensor> features;
  const auto input = x.clone().requires_grad_(true);
  const auto logits = network->forward(input, features);
  auto a = features[static_cast<size_t>(e)];
  a.retain_grad();
  logits[static_cast<size_t>(e)][0][target].backward();
  const auto grad = a.grad()[0]; // [C, h, w]
  torch::NoGradGuard no_grad;
  auto cam = torch::zeros({a.size(2), a.size(3)});
  for (int64_t c = 0; c < a.size(1); ++c) {
    cam += grad[c].mean() * a[0][c];
  }
  cam = torch::upsample_bilinear2d(
            torch::relu(cam).view({1, 1, a.size(2), a.size(3)}),
            {x.size(2), x.size(3)},
            /*align_corners=*/false)
            .view({x.size(2), x.size(3)});
  const auto low = cam.min();
  const auto high = cam.max();
  if ((high - low).item<float>() <= 0) {
    return torch::zeros_like(cam);
  }
  return (cam - low) / (high - low);
}

} // namespace

TEST(GradCam, MapsHaveTheInputsShapeAndLieInZeroOne) {
  auto network = small_network();
  const auto x = inputs(5);
  const auto cam = sdn::inference::grad_cam(network, x);
  const int64_t exits = network->num_exits();
  EXPECT_EQ(cam.maps.sizes(), (std::vector<int64_t>{5, exits, 32, 32}));
  EXPECT_GE(cam.maps.min().item<float>(), 0.0f);
  EXPECT_LE(cam.maps.max().item<float>(), 1.0f);
  EXPECT_EQ(cam.targets.sizes(), (std::vector<int64_t>{5, exits}));
  // Without classes, each exit explains its own prediction.
  EXPECT_TRUE(torch::equal(cam.targets, cam.predictions));
  torch::NoGradGuard no_grad;
  const auto logits = network->forward(x);
  for (int64_t e = 0; e < exits; ++e) {
    EXPECT_TRUE(torch::equal(
        cam.predictions.select(1, e),
        logits[static_cast<size_t>(e)].argmax(1)));
    EXPECT_TRUE(torch::allclose(
        cam.confidence.select(1, e),
        torch::softmax(logits[static_cast<size_t>(e)], 1).amax(1)));
  }
  // No gradient was accumulated into the weights.
  for (const auto& p : network->parameters()) {
    EXPECT_FALSE(p.grad().defined());
  }
}

TEST(GradCam, EqualsAnIndependentComputationPerExit) {
  auto network = small_network();
  const auto x = inputs(3);
  const auto classes = torch::tensor({2, 0, 3}, torch::kInt64);
  const auto cam = sdn::inference::grad_cam(network, x, classes);
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t e = 0; e < network->num_exits(); ++e) {
      EXPECT_EQ(cam.targets[n][e].item<int64_t>(), classes[n].item<int64_t>());
      const auto expected = reference_map(
          network, x.narrow(0, n, 1), e, classes[n].item<int64_t>());
      EXPECT_TRUE(torch::allclose(cam.maps[n][e], expected, 1e-4, 1e-4))
          << "sample " << n << " exit " << e << " differs by "
          << (cam.maps[n][e] - expected).abs().max().item<float>();
    }
  }
}

TEST(GradCam, MapsMoveWhenTheTargetClassChanges) {
  auto network = small_network();
  const auto x = inputs(4);
  const auto a =
      sdn::inference::grad_cam(network, x, torch::zeros({4}, torch::kInt64));
  const auto b =
      sdn::inference::grad_cam(network, x, torch::ones({4}, torch::kInt64));
  EXPECT_GT((a.maps - b.maps).abs().max().item<float>(), 0.05f);
  // The same class twice gives the same maps.
  const auto again =
      sdn::inference::grad_cam(network, x, torch::zeros({4}, torch::kInt64));
  EXPECT_TRUE(torch::allclose(a.maps, again.maps));
}

TEST(GradCam, BadInputsAreErrors) {
  auto network = small_network();
  const auto x = inputs(2);
  EXPECT_NE(
      error_message([&] {
        sdn::inference::grad_cam(network, x, torch::tensor({0, 4}));
      }).find("[0, 4)"),
      std::string::npos);
  EXPECT_NE(
      error_message([&] {
        sdn::inference::grad_cam(network, x, torch::tensor({0}));
      }).find("int64 target classes [2]"),
      std::string::npos);
  EXPECT_NE(
      error_message([&] {
        sdn::inference::grad_cam(network, x.to(torch::kFloat64));
      }).find("float32"),
      std::string::npos);
  network->train();
  EXPECT_NE(
      error_message([&] {
        sdn::inference::grad_cam(network, x);
      }).find("eval mode"),
      std::string::npos);
}
