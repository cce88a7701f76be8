// Split statistics via per-channel byte histograms: exact and one pass.
#include "sdn/data/stats.h"

#include "sdn/util/error.h"

#include <array>
#include <cmath>

namespace sdn::data {

SplitStats split_stats(const Dataset& dataset, int64_t num_classes) {
  check(
      dataset.images.defined() && dataset.images.dim() == 4 &&
          dataset.images.scalar_type() == torch::kUInt8,
      "split_stats expects uint8 images [N, C, H, W]");
  SplitStats stats;
  stats.count = dataset.size();
  const int64_t channels = dataset.images.size(1);
  const int64_t plane = dataset.images.size(2) * dataset.images.size(3);
  stats.shape = {channels, dataset.images.size(2), dataset.images.size(3)};
  stats.label_counts.assign(static_cast<size_t>(num_classes), 0);
  const auto labels = dataset.labels.to(torch::kInt64).contiguous();
  const auto* label = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < stats.count; ++i) {
    check(
        label[i] >= 0 && label[i] < num_classes,
        "label ",
        label[i],
        " of sample ",
        i,
        " is out of range [0, ",
        num_classes,
        ")");
    ++stats.label_counts[static_cast<size_t>(label[i])];
  }
  const auto images = dataset.images.contiguous();
  const auto* pixels = images.data_ptr<uint8_t>();
  std::vector<std::array<int64_t, 256>> histogram(
      static_cast<size_t>(channels));
  for (auto& h : histogram) {
    h.fill(0);
  }
  for (int64_t i = 0; i < stats.count; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      auto& h = histogram[static_cast<size_t>(c)];
      const uint8_t* p = pixels + (i * channels + c) * plane;
      for (int64_t k = 0; k < plane; ++k) {
        ++h[p[k]];
      }
    }
  }
  const double n = static_cast<double>(stats.count * plane);
  for (const auto& h : histogram) {
    double sum = 0, sum_sq = 0;
    for (int v = 0; v < 256; ++v) {
      const double x = v / 255.0;
      sum += x * static_cast<double>(h[static_cast<size_t>(v)]);
      sum_sq += x * x * static_cast<double>(h[static_cast<size_t>(v)]);
    }
    const double mean = n > 0 ? sum / n : 0.0;
    const double var = n > 0 ? std::max(0.0, sum_sq / n - mean * mean) : 0.0;
    stats.mean.push_back(mean);
    stats.std.push_back(std::sqrt(var));
  }
  return stats;
}

} // namespace sdn::data
