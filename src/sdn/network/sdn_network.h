#pragma once

#include "sdn/heads/internal_classifier.h"
#include "sdn/models/backbone.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sdn::network {

/// Cumulative costs per exit (docs/architecture.md#counting-rules): exit i's
/// cost includes the backbone up to its block and every IC head up to and
/// including i; the last entry (final exit) is the whole network.
struct CostTable {
  models::Cost cnn; ///< The plain CNN (no ICs).
  std::vector<models::Cost> exits; ///< Cumulative, shallowest first.
};

/// How copy_tensors() writes into the target.
enum class TensorCopy {
  /// copy_ into the target's own storage: keeps its device, dtype and
  /// layout, and the tensors optimisers hold stay valid.
  kInPlace,
  /// The target's tensors take fresh clones of the source's: the same bits
  /// and layout, sharing no storage with the source.
  kClone,
};

/// Copies every parameter and buffer of `source` into the one of the same
/// name in `target` (no gradient recorded). Throws sdn::Error, its message
/// starting with `what`, when a name is missing in the source, shapes
/// differ, or the source has tensors the target lacks.
void copy_tensors(
    const torch::nn::Module& source,
    torch::nn::Module& target,
    TensorCopy how,
    const std::string& what);

/// A backbone plus (optionally) internal classifiers.
struct NetworkOptions {
  models::BackboneOptions backbone;
  bool with_ics = true; ///< false: the plain CNN (one exit).
};

/// An SDN: forward returns every exit's logits, ICs shallowest first, final
/// last. Without ICs it is the plain CNN with one exit.
class SdnNetworkImpl : public torch::nn::Module {
 public:
  explicit SdnNetworkImpl(NetworkOptions options);

  /// Logits of every exit, shallowest first, final last.
  std::vector<torch::Tensor> forward(const torch::Tensor& x);

  /// As forward, and sets `features` to the feature map each exit reads,
  /// shallowest first: an IC's input (models::BackboneImpl::block's
  /// features) and, for the final exit, the last block's output (the head's
  /// input); each [N, C_e, H_e, W_e]. For Grad-CAM (inference/grad_cam.h).
  std::vector<torch::Tensor> forward(
      const torch::Tensor& x,
      std::vector<torch::Tensor>& features);

  /// Number of exits (ICs + 1).
  int64_t num_exits() const;
  /// Number of internal classifiers.
  int64_t num_ics() const;

  /// Staged execution for early exit: the state after the stem.
  torch::Tensor start(const torch::Tensor& x);
  /// Runs from `state` (after exit-1, or start()) through exit `exit`'s block
  /// and evaluates that exit. Returns {logits of `exit`, state to continue
  /// from}. For the final exit the state is undefined.
  std::pair<torch::Tensor, torch::Tensor> step(
      int64_t exit,
      const torch::Tensor& state);

  /// Parameters of the backbone (stem, blocks, head).
  std::vector<torch::Tensor> backbone_parameters() const;
  /// Parameters of IC `i` (its alpha and linear).
  std::vector<torch::Tensor> ic_parameters(int64_t i) const;

  /// Copies every backbone tensor (parameters and buffers) from `other`,
  /// which must have the same backbone options. ICs are left untouched.
  void copy_backbone_from(const SdnNetworkImpl& other);

  /// Cumulative costs per exit.
  CostTable costs() const;

  /// Folds the backbone's BatchNorms into its convolutions for inference
  /// (models::BackboneImpl::fold_batch_norm) and switches to eval mode:
  /// outputs equal the eval-mode outputs within float rounding. The network
  /// cannot be trained afterwards: train() throws sdn::Error.
  void fold_batch_norm();
  /// Whether fold_batch_norm() has run.
  bool folded() const;
  /// Module::train, refused (sdn::Error) for a folded network.
  void train(bool on = true) override;

  /// The options it was built with.
  const NetworkOptions& options() const {
    return options_;
  }
  /// The backbone (registered as submodule "backbone").
  const std::shared_ptr<models::BackboneImpl>& backbone() const {
    return backbone_;
  }
  /// The ICs, shallowest first (registered as "ic0", "ic1", ...).
  const std::vector<heads::InternalClassifier>& ics() const {
    return ics_;
  }
  /// Block index each IC is attached to (empty without ICs).
  const std::vector<int64_t>& ic_blocks() const {
    return ic_blocks_;
  }

 private:
  // forward's loop; records the features each exit reads when `features`
  // is not null.
  std::vector<torch::Tensor> run(
      const torch::Tensor& x,
      std::vector<torch::Tensor>* features);

  NetworkOptions options_;
  std::shared_ptr<models::BackboneImpl> backbone_;
  std::vector<heads::InternalClassifier> ics_;
  std::vector<int64_t> ic_blocks_; ///< Block index of each IC.
};
TORCH_MODULE(SdnNetwork);

} // namespace sdn::network
