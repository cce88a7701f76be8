// Backdoor trigger and data poisoning (docs/exit-trace.md#backdoor).
#include "sdn/data/trigger.h"

#include "sdn/data/rng.h"
#include "sdn/util/error.h"

#include <cmath>

namespace sdn::data {

void TriggerOptions::validate() const {
  check(x >= 0, "--trigger-x must be >= 0, got ", x);
  check(y >= 0, "--trigger-y must be >= 0, got ", y);
  check(size > 0, "--trigger-size must be > 0, got ", size);
  check(target >= 0, "--trigger-target must be >= 0, got ", target);
}

torch::Tensor apply_trigger(
    const torch::Tensor& images,
    const TriggerOptions& options) {
  options.validate();
  check(
      images.dim() == 4 && images.scalar_type() == torch::kUInt8,
      "apply_trigger expects uint8 images [N, C, H, W], got ",
      images.sizes(),
      " ",
      images.scalar_type());
  check(
      options.y + options.size <= images.size(2) &&
          options.x + options.size <= images.size(3),
      "the trigger (--trigger-size ",
      options.size,
      " at --trigger-x ",
      options.x,
      ", --trigger-y ",
      options.y,
      ") does not fit in ",
      images.size(3),
      "x",
      images.size(2),
      " images");
  auto out = images.clone();
  using torch::indexing::Slice;
  out.index_put_(
      {Slice(),
       Slice(),
       Slice(options.y, options.y + options.size),
       Slice(options.x, options.x + options.size)},
      255);
  return out;
}

Dataset triggered(
    const Dataset& dataset,
    const TriggerOptions& options,
    bool relabel) {
  Dataset out;
  out.images = apply_trigger(dataset.images, options);
  out.labels = relabel ? torch::full_like(dataset.labels, options.target) :
                         dataset.labels.clone();
  return out;
}

Dataset poison(
    const Dataset& dataset,
    double rate,
    const TriggerOptions& options,
    uint64_t seed) {
  options.validate();
  check(
      rate >= 0.0 && rate <= 1.0,
      "--poison-rate must be in [0, 1], got ",
      rate);
  const int64_t n = dataset.size();
  const auto count = static_cast<int64_t>(std::llround(rate * n));
  const auto labels = dataset.labels.contiguous();
  const auto* label = labels.data_ptr<int64_t>();
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i < n; ++i) {
    if (label[i] != options.target) {
      candidates.push_back(i);
    }
  }
  check(
      count <= static_cast<int64_t>(candidates.size()),
      "--poison-rate ",
      rate,
      " asks for ",
      count,
      " poisoned samples but only ",
      candidates.size(),
      " are not of the target class ",
      options.target);
  const auto order = permutation(
      static_cast<int64_t>(candidates.size()),
      derive_seed(seed, Stream::kPoison));
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    chosen.push_back(
        candidates[static_cast<size_t>(order[static_cast<size_t>(i)])]);
  }
  Dataset out{dataset.images.clone(), dataset.labels.clone()};
  if (count == 0) {
    return out;
  }
  const auto index = torch::tensor(chosen, torch::kInt64);
  out.images.index_copy_(
      0, index, apply_trigger(dataset.images.index_select(0, index), options));
  out.labels.index_fill_(0, index, options.target);
  return out;
}

} // namespace sdn::data
