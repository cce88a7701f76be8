// Synthetic data: smooth per-class prototypes plus per-sample difficulty.
#include "sdn/data/synthetic.h"

#include "sdn/data/rng.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>

namespace sdn::data {

namespace {

// Prototypes are bilinear upsamplings of a kGrid x kGrid random grid: smooth
// enough for a CNN to pick up, different enough between classes.
constexpr int64_t kGrid = 4;
// Translation jitter in pixels: the network must be somewhat shift-invariant.
constexpr int64_t kMaxShift = 2;
// At difficulty 1 a sample is a 50/50 blend of two classes: truly ambiguous.
constexpr double kMaxBlend = 0.5;
// Pixel noise standard deviation at difficulty 0 and 1.
constexpr double kMinNoise = 0.03;
constexpr double kMaxNoise = 0.35;

// Sub-streams of the synthetic seed.
constexpr uint64_t kPrototypeStream = 0;
constexpr uint64_t kTrainStream = 1;
constexpr uint64_t kTestStream = 2;

// [classes][channels][side*side] prototypes with values in [0.1, 0.9].
std::vector<std::vector<float>> make_prototypes(
    const DatasetInfo& info,
    uint64_t seed) {
  Rng rng(derive_seed(seed, Stream::kSynthetic, kPrototypeStream));
  const int64_t side = info.side;
  std::vector<std::vector<float>> protos(
      static_cast<size_t>(info.num_classes * info.channels));
  for (auto& proto : protos) {
    double grid[kGrid][kGrid];
    for (auto& row : grid) {
      for (double& v : row) {
        v = rng.uniform(0.1, 0.9);
      }
    }
    proto.resize(static_cast<size_t>(side * side));
    for (int64_t y = 0; y < side; ++y) {
      const double gy = (y + 0.5) * (kGrid - 1) / side;
      const auto y0 = static_cast<int64_t>(gy);
      const int64_t y1 = std::min(y0 + 1, kGrid - 1);
      const double fy = gy - y0;
      for (int64_t x = 0; x < side; ++x) {
        const double gx = (x + 0.5) * (kGrid - 1) / side;
        const auto x0 = static_cast<int64_t>(gx);
        const int64_t x1 = std::min(x0 + 1, kGrid - 1);
        const double fx = gx - x0;
        const double top = grid[y0][x0] * (1 - fx) + grid[y0][x1] * fx;
        const double bottom = grid[y1][x0] * (1 - fx) + grid[y1][x1] * fx;
        proto[static_cast<size_t>(y * side + x)] =
            static_cast<float>(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return protos;
}

Dataset make_split(
    const DatasetInfo& info,
    const std::vector<std::vector<float>>& protos,
    int64_t n,
    uint64_t seed) {
  const int64_t side = info.side, channels = info.channels;
  const int64_t classes = info.num_classes;
  Rng rng(seed);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[static_cast<size_t>(i)] = i % classes;
  }
  const auto order = permutation(n, rng.next());
  Dataset out;
  out.images = torch::empty({n, channels, side, side}, torch::kUInt8);
  out.labels = torch::empty({n}, torch::kInt64);
  auto* images = out.images.data_ptr<uint8_t>();
  auto* label_out = out.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y =
        labels[static_cast<size_t>(order[static_cast<size_t>(i)])];
    label_out[i] = y;
    const double difficulty = rng.uniform();
    int64_t other = rng.below(classes - 1);
    other += other >= y ? 1 : 0;
    const double blend = kMaxBlend * difficulty;
    const double noise = kMinNoise + (kMaxNoise - kMinNoise) * difficulty;
    const int64_t dx = rng.below(2 * kMaxShift + 1) - kMaxShift;
    const int64_t dy = rng.below(2 * kMaxShift + 1) - kMaxShift;
    for (int64_t c = 0; c < channels; ++c) {
      const auto& own = protos[static_cast<size_t>(y * channels + c)];
      const auto& mix = protos[static_cast<size_t>(other * channels + c)];
      uint8_t* plane = images + (i * channels + c) * side * side;
      for (int64_t r = 0; r < side; ++r) {
        const int64_t sr = std::clamp(r + dy, int64_t{0}, side - 1);
        for (int64_t q = 0; q < side; ++q) {
          const int64_t sq = std::clamp(q + dx, int64_t{0}, side - 1);
          const auto p = static_cast<size_t>(sr * side + sq);
          const double v =
              (1 - blend) * own[p] + blend * mix[p] + noise * rng.normal();
          plane[r * side + q] = static_cast<uint8_t>(
              std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
        }
      }
    }
  }
  return out;
}

} // namespace

Splits make_synthetic_splits(const DataOptions& options) {
  check(
      options.name == "synthetic",
      "make_synthetic_splits: data set is '",
      options.name,
      "', expected 'synthetic'");
  Splits splits;
  splits.info = dataset_info(options);
  const auto protos = make_prototypes(splits.info, options.seed);
  splits.train = make_split(
      splits.info,
      protos,
      options.synthetic_train,
      derive_seed(options.seed, Stream::kSynthetic, kTrainStream));
  splits.test = make_split(
      splits.info,
      protos,
      options.synthetic_test,
      derive_seed(options.seed, Stream::kSynthetic, kTestStream));
  return splits;
}

} // namespace sdn::data
