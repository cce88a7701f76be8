// training_loss per mode; clear_gradients gives the same updates as
// zero_grad.
#include "sdn/train/trainer.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace sdn::train {
namespace {

TEST(TrainingLoss, WeighsTheExitsPerMode) {
  torch::manual_seed(5);
  namespace F = torch::nn::functional;
  const std::vector<torch::Tensor> outputs = {
      torch::randn({4, 3}), torch::randn({4, 3}), torch::randn({4, 3})};
  const auto labels = torch::tensor({0, 2, 1, 2}, torch::kLong);
  const auto ce = [&](size_t i) {
    return F::cross_entropy(outputs[i], labels).item<double>();
  };
  EXPECT_DOUBLE_EQ(
      training_loss(checkpoint::Mode::kCnn, outputs, labels, {}).item<double>(),
      ce(2));
  EXPECT_NEAR(
      training_loss(checkpoint::Mode::kSdn, outputs, labels, {0.25, 0.5})
          .item<double>(),
      ce(2) + 0.25 * ce(0) + 0.5 * ce(1),
      1e-6);
  EXPECT_NEAR(
      training_loss(checkpoint::Mode::kIcOnly, outputs, labels, {})
          .item<double>(),
      ce(0) + ce(1),
      1e-6);
  EXPECT_THROW(
      training_loss(checkpoint::Mode::kSdn, outputs, labels, {0.5}), Error);
}

TEST(ClearGradients, GivesTheSameUpdatesAsZeroGrad) {
  torch::manual_seed(6);
  torch::nn::Linear a(5, 3);
  torch::nn::Linear b(5, 3);
  {
    torch::NoGradGuard no_grad;
    b->weight.copy_(a->weight);
    b->bias.copy_(a->bias);
  }
  const auto options =
      torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3);
  torch::optim::SGD sgd_a(a->parameters(), options);
  torch::optim::SGD sgd_b(b->parameters(), options);
  for (int step = 0; step < 4; ++step) {
    const auto x = torch::randn({8, 5});
    const auto y = torch::randint(3, {8}, torch::kLong);
    sgd_a.zero_grad();
    torch::nn::functional::cross_entropy(a(x), y).backward();
    sgd_a.step();
    clear_gradients(sgd_b);
    EXPECT_FALSE(b->weight.grad().defined());
    torch::nn::functional::cross_entropy(b(x), y).backward();
    sgd_b.step();
  }
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
  EXPECT_TRUE(torch::equal(a->bias, b->bias));
}

} // namespace
} // namespace sdn::train
