#include "sdn/inference/grad_cam.h"

#include "sdn/util/error.h"

#include <torch/torch.h>

namespace sdn::inference {

GradCam grad_cam(
    network::SdnNetwork& network,
    const torch::Tensor& inputs,
    const torch::Tensor& classes) {
  check(
      !network->is_training(),
      "Grad-CAM needs the network in eval mode (BatchNorm running "
      "statistics)");
  check(
      inputs.defined() && inputs.dim() == 4 &&
          inputs.scalar_type() == torch::kFloat32,
      "Grad-CAM: expected float32 inputs [N, C, H, W], got ",
      inputs.defined() ? inputs.sizes() : c10::IntArrayRef{});
  const int64_t n = inputs.size(0);
  const int64_t k = network->options().backbone.num_classes;
  if (classes.defined()) {
    check(
        classes.dim() == 1 && classes.size(0) == n &&
            classes.scalar_type() == torch::kInt64,
        "Grad-CAM: expected int64 target classes [",
        n,
        "], got ",
        classes.sizes());
    check(
        n == 0 ||
            (classes.min().item<int64_t>() >= 0 &&
             classes.max().item<int64_t>() < k),
        "Grad-CAM: target classes must lie in [0, ",
        k,
        ")");
  }
  torch::AutoGradMode grad_mode(true);
  // The input requires a gradient so that every feature map is in the graph
  // whatever the parameters' requires_grad; only features' gradients are
  // computed (torch::autograd::grad), nothing accumulates in .grad.
  const torch::Tensor x = inputs.detach().requires_grad_(true);
  std::vector<torch::Tensor> features;
  const std::vector<torch::Tensor> logits = network->forward(x, features);
  const auto exits = static_cast<int64_t>(logits.size());
  const int64_t height = inputs.size(2);
  const int64_t width = inputs.size(3);
  std::vector<torch::Tensor> maps;
  std::vector<torch::Tensor> targets;
  std::vector<torch::Tensor> predictions;
  std::vector<torch::Tensor> confidence;
  for (int64_t e = 0; e < exits; ++e) {
    const torch::Tensor& z = logits[static_cast<size_t>(e)];
    const torch::Tensor& a = features[static_cast<size_t>(e)];
    const torch::Tensor predicted = z.detach().argmax(1);
    const torch::Tensor target = classes.defined() ? classes : predicted;
    // Samples are independent in eval mode, so the gradient of the summed
    // scores gives each sample's own gradient.
    const torch::Tensor score = z.gather(1, target.unsqueeze(1)).sum();
    const torch::Tensor grad = torch::autograd::grad(
        {score}, {a}, {}, /*retain_graph=*/e + 1 < exits)[0];
    torch::Tensor cam;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor weights = grad.mean({2, 3}, /*keepdim=*/true);
      cam = torch::relu((weights * a.detach()).sum(1, /*keepdim=*/true));
      cam = torch::nn::functional::interpolate(
                cam,
                torch::nn::functional::InterpolateFuncOptions()
                    .size(std::vector<int64_t>{height, width})
                    .mode(torch::kBilinear)
                    .align_corners(false))
                .squeeze(1); // [N, H, W]
      const torch::Tensor low = cam.amin({1, 2}, /*keepdim=*/true);
      const torch::Tensor range = cam.amax({1, 2}, /*keepdim=*/true) - low;
      cam = torch::where(
          range > 0,
          (cam - low) / range.clamp_min(1e-30),
          torch::zeros_like(cam));
    }
    maps.push_back(cam.to(torch::kFloat32));
    targets.push_back(target);
    predictions.push_back(predicted);
    confidence.push_back(torch::softmax(z.detach(), 1).amax(1));
  }
  GradCam out;
  out.maps = torch::stack(maps, 1).cpu().clamp(0, 1);
  out.targets = torch::stack(targets, 1).cpu();
  out.predictions = torch::stack(predictions, 1).cpu();
  out.confidence = torch::stack(confidence, 1).cpu().to(torch::kFloat32);
  return out;
}

} // namespace sdn::inference
