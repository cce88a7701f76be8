// Backbone + internal classifiers; full and staged forward; tensor copies.
#include "sdn/network/sdn_network.h"

#include "sdn/util/error.h"

#include <torch/types.h>

#include <string>
#include <unordered_map>

namespace sdn::network {

namespace {

bool same_architecture(
    const models::BackboneOptions& a,
    const models::BackboneOptions& b) {
  // The WRN head's BN momentum is a training setting, not part of the
  // weights: the original changed it across the CNN -> SDN conversion.
  return a.arch == b.arch && a.in_channels == b.in_channels &&
      a.input_side == b.input_side && a.num_classes == b.num_classes;
}

std::string describe(const models::BackboneOptions& o) {
  return str_cat(
      o.arch,
      " (",
      o.in_channels,
      "x",
      o.input_side,
      "x",
      o.input_side,
      ", ",
      o.num_classes,
      " classes)");
}

} // namespace

void copy_tensors(
    const torch::nn::Module& source,
    torch::nn::Module& target,
    TensorCopy how,
    const std::string& what) {
  std::unordered_map<std::string, torch::Tensor> from;
  for (const auto& item : source.named_parameters()) {
    from.emplace(item.key(), item.value());
  }
  for (const auto& item : source.named_buffers()) {
    from.emplace(item.key(), item.value());
  }
  torch::NoGradGuard no_grad;
  size_t copied = 0;
  auto copy_all = [&](const auto& targets) {
    for (const auto& item : targets) {
      auto it = from.find(item.key());
      check(
          it != from.end(),
          what,
          ": tensor '",
          item.key(),
          "' missing in the source");
      check(
          it->second.sizes() == item.value().sizes(),
          what,
          ": tensor '",
          item.key(),
          "' has shape ",
          it->second.sizes(),
          " in the source, ",
          item.value().sizes(),
          " in the target");
      if (how == TensorCopy::kInPlace) {
        item.value().copy_(it->second);
      } else {
        item.value().set_data(it->second.detach().clone());
      }
      ++copied;
    }
  };
  copy_all(target.named_parameters());
  copy_all(target.named_buffers());
  check(
      copied == from.size(),
      what,
      ": the source has ",
      from.size(),
      " tensors, the target ",
      copied);
}

SdnNetworkImpl::SdnNetworkImpl(NetworkOptions options)
    : options_(std::move(options)) {
  options_.backbone.validate();
  backbone_ = register_module<models::BackboneImpl>(
      "backbone", models::make_backbone(options_.backbone));
  if (!options_.with_ics) {
    return;
  }
  ic_blocks_ = backbone_->ic_blocks();
  for (size_t i = 0; i < ic_blocks_.size(); ++i) {
    const auto shape = backbone_->block_feature_shape(ic_blocks_[i]);
    auto ic_options = heads::InternalClassifierOptions(
                          shape[0], shape[1], options_.backbone.num_classes)
                          .init(backbone_->ic_init());
    ics_.push_back(register_module(
        "ic" + std::to_string(i), heads::InternalClassifier(ic_options)));
  }
}

int64_t SdnNetworkImpl::num_exits() const {
  return num_ics() + 1;
}

int64_t SdnNetworkImpl::num_ics() const {
  return static_cast<int64_t>(ics_.size());
}

std::vector<torch::Tensor> SdnNetworkImpl::forward(const torch::Tensor& x) {
  return run(x, nullptr);
}

std::vector<torch::Tensor> SdnNetworkImpl::forward(
    const torch::Tensor& x,
    std::vector<torch::Tensor>& features) {
  features.clear();
  return run(x, &features);
}

std::vector<torch::Tensor> SdnNetworkImpl::run(
    const torch::Tensor& x,
    std::vector<torch::Tensor>* features) {
  std::vector<torch::Tensor> outputs;
  outputs.reserve(ics_.size() + 1);
  torch::Tensor h = backbone_->stem(x);
  const int64_t n = backbone_->num_blocks();
  size_t next_ic = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (next_ic < ic_blocks_.size() && ic_blocks_[next_ic] == i) {
      auto [out, ic_features] = backbone_->block(i, h);
      outputs.push_back(ics_[next_ic]->forward(ic_features));
      if (features != nullptr) {
        features->push_back(ic_features);
      }
      ++next_ic;
      h = std::move(out);
    } else {
      h = backbone_->block_output(i, h);
    }
  }
  if (features != nullptr) {
    features->push_back(h);
  }
  outputs.push_back(backbone_->head(h));
  return outputs;
}

torch::Tensor SdnNetworkImpl::start(const torch::Tensor& x) {
  return backbone_->stem(x);
}

std::pair<torch::Tensor, torch::Tensor> SdnNetworkImpl::step(
    int64_t exit,
    const torch::Tensor& state) {
  check(
      exit >= 0 && exit < num_exits(),
      "exit ",
      exit,
      " out of range [0, ",
      num_exits(),
      ")");
  const auto e = static_cast<size_t>(exit);
  const int64_t first = exit == 0 ? 0 : ic_blocks_[e - 1] + 1;
  const bool final_exit = exit == num_ics();
  const int64_t last = final_exit ? backbone_->num_blocks() - 1 : ic_blocks_[e];
  torch::Tensor h = state;
  for (int64_t i = first; i < last; ++i) {
    h = backbone_->block_output(i, h);
  }
  if (final_exit) {
    return {backbone_->head(backbone_->block_output(last, h)), torch::Tensor()};
  }
  auto [out, features] = backbone_->block(last, h);
  return {ics_[e]->forward(features), out};
}

std::vector<torch::Tensor> SdnNetworkImpl::backbone_parameters() const {
  return backbone_->parameters();
}

std::vector<torch::Tensor> SdnNetworkImpl::ic_parameters(int64_t i) const {
  check(
      i >= 0 && i < num_ics(),
      "IC index ",
      i,
      " out of range [0, ",
      num_ics(),
      ")");
  return ics_[static_cast<size_t>(i)]->parameters();
}

void SdnNetworkImpl::copy_backbone_from(const SdnNetworkImpl& other) {
  check(
      !folded() && !other.folded(),
      "cannot copy backbones of a network whose BatchNorms are folded");
  check(
      same_architecture(options_.backbone, other.options_.backbone),
      "cannot copy the backbone of ",
      describe(other.options_.backbone),
      " into ",
      describe(options_.backbone));
  if (&other == this) {
    return;
  }
  copy_tensors(*other.backbone_, *backbone_, TensorCopy::kInPlace, "backbone");
}

void SdnNetworkImpl::fold_batch_norm() {
  eval();
  backbone_->fold_batch_norm();
}

bool SdnNetworkImpl::folded() const {
  return backbone_->folded();
}

void SdnNetworkImpl::train(bool on) {
  check(
      !on || !folded(),
      "a network whose BatchNorms are folded into its convolutions is for "
      "inference only and cannot be trained");
  torch::nn::Module::train(on);
}

CostTable SdnNetworkImpl::costs() const {
  CostTable table;
  models::Cost running = backbone_->stem_cost();
  const int64_t n = backbone_->num_blocks();
  size_t next_ic = 0;
  for (int64_t i = 0; i < n; ++i) {
    running += backbone_->block_cost(i);
    if (next_ic < ic_blocks_.size() && ic_blocks_[next_ic] == i) {
      // The original profile_sdn walks modules in registration order: each
      // IC is counted right after its block, so exit i pays for ICs 1..i.
      running += ics_[next_ic]->cost();
      table.exits.push_back(running);
      ++next_ic;
    }
  }
  running += backbone_->head_cost();
  table.exits.push_back(running);

  table.cnn = backbone_->stem_cost();
  for (int64_t i = 0; i < n; ++i) {
    table.cnn += backbone_->block_cost(i);
  }
  table.cnn += backbone_->head_cost();
  return table;
}

} // namespace sdn::network
