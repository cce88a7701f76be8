#pragma once

// Grad-CAM per exit (Selvaraju et al., ICCV 2017), as the original SDN code
// draws it for its internal classifiers: for each exit, the class-
// discriminative map on the feature map that exit reads
// (docs/exit-trace.md#grad-cam).

#include "sdn/network/sdn_network.h"

#include <torch/types.h>

namespace sdn::inference {

/// The Grad-CAM maps of every exit for a batch.
struct GradCam {
  /// float32 [N, E, H, W] in [0, 1]: per sample and exit, the map upsampled
  /// to the input's H x W (exits shallowest first, final last).
  torch::Tensor maps;
  /// int64 [N, E]: the class each map explains.
  torch::Tensor targets;
  /// int64 [N, E]: each exit's prediction (first argmax of its logits).
  torch::Tensor predictions;
  /// float32 [N, E]: each exit's confidence (max softmax probability).
  torch::Tensor confidence;
};

/// Grad-CAM of every exit of `network` on `inputs` (normalised float32
/// [N, C, H, W], on the network's device). For exit e, A = the feature map
/// it reads (SdnNetworkImpl::forward with features) and s = the logit of
/// the target class: weights w_c = spatial mean of ds/dA_c, map =
/// ReLU(sum_c w_c A_c), upsampled bilinearly (align_corners false) to
/// H x W, then scaled to [0, 1] per map ((m - min) / (max - min); a
/// constant map gives 0). The target is `classes` (int64 [N], the same
/// class for every exit; e.g. the true labels) or, when undefined, each
/// exit's own prediction. The network must be in eval mode (its BatchNorms
/// use running statistics, so samples do not interact); its weights are not
/// changed and no .grad is accumulated. Throws sdn::Error for a network in
/// training mode, inputs that are not [N, C, H, W] float, or `classes` of
/// another length or outside [0, K).
GradCam grad_cam(
    network::SdnNetwork& network,
    const torch::Tensor& inputs,
    const torch::Tensor& classes = {});

} // namespace sdn::inference
