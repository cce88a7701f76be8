#pragma once

// Small deterministic random numbers for the data pipeline. Our own generator
// (not LibTorch's) so that splits, shuffles, augmentation and synthetic data
// are identical across LibTorch versions and independent of thread scheduling.

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace sdn::data {

/// Independent random streams: each use mixes its own constant into the seed.
enum class Stream : uint64_t {
  kSplit = 0x5350'4c49'5400'0001ULL, ///< Validation split.
  kShuffle = 0x5348'5546'0000'0002ULL, ///< Epoch order.
  kAugment = 0x4155'4700'0000'0003ULL, ///< Per-sample augmentation.
  kSynthetic = 0x5359'4e00'0000'0004ULL, ///< Synthetic data.
  kPoison = 0x504f'4953'0000'0005ULL, ///< Choice of poisoned samples.
  kOodNoise = 0x4f4f'4400'0000'0006ULL, ///< Out-of-distribution noise.
};

/// SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The `index`-th output (from 0) of Rng(seed), computed directly: the
/// generator's outputs are mix64 of evenly spaced states. Training derives
/// each epoch's LibTorch seed this way (seed, epoch).
inline uint64_t rng_output(uint64_t seed, uint64_t index) {
  return mix64(seed + 0x9e3779b97f4a7c15ULL * index);
}

/// A seed derived from a stream and up to three coordinates (e.g. seed, epoch,
/// sample index); distinct inputs give unrelated seeds.
inline uint64_t derive_seed(
    uint64_t seed,
    Stream stream,
    uint64_t a = 0,
    uint64_t b = 0) {
  uint64_t h = mix64(seed ^ static_cast<uint64_t>(stream));
  h = mix64(h ^ a);
  h = mix64(h ^ (b * 0xd6e8feb86659fd93ULL));
  return h;
}

/// SplitMix64 generator: tiny state, fast, plenty for augmentation draws.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// Next 64 random bits.
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform double in [0, 1).
  double uniform() {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
  }
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * uniform();
  }
  /// Uniform integer in [0, n); n > 0.
  int64_t below(int64_t n) {
    // Multiply-shift: bias below 2^-40 for the sizes used here.
    return static_cast<int64_t>(
        (static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(n)) >>
        64);
  }
  /// Standard normal (Box-Muller; one value per call for simplicity).
  double normal() {
    const double u1 = 1.0 - uniform(); // (0, 1]: log stays finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

/// A uniformly random permutation of 0..n-1 (Fisher-Yates) under `seed`.
inline std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = rng.below(i + 1);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

} // namespace sdn::data
