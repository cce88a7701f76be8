// BatchLoader: one background worker prepares batches in epoch order into a
// bounded queue; next() pops them. Order and augmentation depend only on
// (seed, epoch, sample index), never on timing.
#include "sdn/data/loader.h"

#include "sdn/data/rng.h"
#include "sdn/data/transforms.h"
#include "sdn/util/error.h"

#include <exception>
#include <numeric>

namespace sdn::data {

namespace {

void check_images(const torch::Tensor& images, const DatasetInfo& info) {
  check(
      images.defined() && images.dim() == 4 &&
          images.scalar_type() == torch::kUInt8 &&
          images.size(1) == info.channels && images.size(2) == info.side &&
          images.size(3) == info.side,
      "expected uint8 images [N, ",
      info.channels,
      ", ",
      info.side,
      ", ",
      info.side,
      "] for ",
      info.name,
      ", got ",
      images.defined() ? images.sizes() : torch::IntArrayRef{},
      images.defined() ? " " : "",
      images.defined() ? c10::toString(images.scalar_type()) : "undefined");
  check(
      static_cast<int64_t>(info.mean.size()) == info.channels &&
          static_cast<int64_t>(info.std.size()) == info.channels,
      info.name,
      ": need one mean and std per channel");
}

} // namespace

void LoaderOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(prefetch >= 0, "prefetch must be >= 0, got ", prefetch);
  check(epoch >= 0, "epoch must be >= 0, got ", epoch);
  check(world_size >= 1, "world_size must be >= 1, got ", world_size);
  check(
      rank >= 0 && rank < world_size,
      "rank must be in [0, ",
      world_size,
      "), got ",
      rank);
}

struct BatchLoader::State {
  Dataset dataset;
  DatasetInfo info;
  LoaderOptions options;
  std::vector<int64_t> order; // this rank's samples, in epoch order
  int64_t num_batches = 0;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Batch> queue;
  int64_t consumed = 0;
  bool stop = false;
  std::exception_ptr error;
  std::thread worker;

  Batch make(int64_t b) const {
    const int64_t begin = b * options.batch_size;
    const int64_t end = std::min<int64_t>(
        begin + options.batch_size, static_cast<int64_t>(order.size()));
    const int64_t n = end - begin;
    const int64_t per_image = info.channels * info.side * info.side;
    Batch batch;
    batch.indices = torch::empty({n}, torch::kInt64);
    batch.labels = torch::empty({n}, torch::kInt64);
    batch.images =
        torch::empty({n, info.channels, info.side, info.side}, torch::kFloat32);
    auto* index = batch.indices.data_ptr<int64_t>();
    auto* label = batch.labels.data_ptr<int64_t>();
    auto* out = batch.images.data_ptr<float>();
    const auto* src = dataset.images.data_ptr<uint8_t>();
    const auto* labels = dataset.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t s = order[static_cast<size_t>(begin + i)];
      index[i] = s;
      label[i] = labels[s];
      // Checked here, where every label passes: a bad one would otherwise
      // surface as an obscure failure inside the loss.
      check(
          labels[s] >= 0 && labels[s] < info.num_classes,
          "sample ",
          s,
          ": label ",
          labels[s],
          " is out of range [0, ",
          info.num_classes,
          ")");
      if (options.augment) {
        const AugmentDraw draw =
            draw_augment(info, options.seed, options.epoch, s);
        transform_image(src + s * per_image, out + i * per_image, info, &draw);
      } else {
        transform_image(
            src + s * per_image, out + i * per_image, info, nullptr);
      }
    }
    return batch;
  }

  void run() {
    try {
      for (int64_t b = 0; b < num_batches; ++b) {
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] {
            return stop ||
                static_cast<int64_t>(queue.size()) < options.prefetch;
          });
          if (stop) {
            return;
          }
        }
        Batch batch = make(b);
        {
          std::lock_guard<std::mutex> lock(mutex);
          queue.push_back(std::move(batch));
        }
        changed.notify_all();
      }
    } catch (...) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        error = std::current_exception();
      }
      changed.notify_all();
    }
  }
};

BatchLoader::BatchLoader(
    const Dataset& dataset,
    const DatasetInfo& info,
    LoaderOptions options)
    : state_(std::make_unique<State>()) {
  options.validate();
  check_images(dataset.images, info);
  check(
      dataset.labels.defined() && dataset.labels.dim() == 1 &&
          dataset.labels.size(0) == dataset.images.size(0),
      "expected one label per image: ",
      dataset.images.size(0),
      " images");
  State& s = *state_;
  s.dataset.images = dataset.images.contiguous();
  s.dataset.labels = dataset.labels.to(torch::kInt64).contiguous();
  s.info = info;
  s.options = options;
  const int64_t n = dataset.size();
  std::vector<int64_t> order;
  if (options.shuffle) {
    order = permutation(
        n,
        derive_seed(
            options.seed,
            Stream::kShuffle,
            static_cast<uint64_t>(options.epoch)));
  } else {
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  // Every rank gets the same count: the last n % world_size samples of the
  // epoch's order are dropped (a different few each epoch when shuffled).
  // Rank r takes every world_size-th sample from position r, as PyTorch's
  // DistributedSampler does, so the ranks' k-th batches together are exactly
  // the k-th batch of one process with world_size times the batch size.
  const int64_t per_rank = n / options.world_size;
  s.order.reserve(static_cast<size_t>(per_rank));
  for (int64_t i = 0; i < per_rank; ++i) {
    s.order.push_back(
        order[static_cast<size_t>(i * options.world_size + options.rank)]);
  }
  s.num_batches = options.drop_last ?
      per_rank / options.batch_size :
      (per_rank + options.batch_size - 1) / options.batch_size;
  if (options.drop_last) {
    s.order.resize(static_cast<size_t>(s.num_batches * options.batch_size));
  }
  if (options.prefetch > 0 && s.num_batches > 0) {
    s.worker = std::thread([&s] { s.run(); });
  }
}

BatchLoader::~BatchLoader() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stop = true;
  }
  s.changed.notify_all();
  if (s.worker.joinable()) {
    s.worker.join();
  }
}

bool BatchLoader::next(Batch& batch) {
  State& s = *state_;
  if (!s.worker.joinable()) { // synchronous (prefetch 0 or empty epoch)
    if (s.consumed >= s.num_batches) {
      return false;
    }
    batch = s.make(s.consumed++);
    return true;
  }
  std::unique_lock<std::mutex> lock(s.mutex);
  s.changed.wait(lock, [&] {
    return !s.queue.empty() || s.error || s.consumed >= s.num_batches;
  });
  if (!s.queue.empty()) {
    batch = std::move(s.queue.front());
    s.queue.pop_front();
    ++s.consumed;
    lock.unlock();
    s.changed.notify_all();
    return true;
  }
  if (s.error) {
    std::rethrow_exception(s.error);
  }
  return false;
}

int64_t BatchLoader::num_batches() const {
  return state_->num_batches;
}

int64_t BatchLoader::num_samples() const {
  return static_cast<int64_t>(state_->order.size());
}

torch::Tensor normalize(const torch::Tensor& images, const DatasetInfo& info) {
  check_images(images, info);
  const auto src = images.contiguous();
  auto out = torch::empty(src.sizes(), torch::kFloat32);
  const int64_t per_image = info.channels * info.side * info.side;
  const auto* in = src.data_ptr<uint8_t>();
  auto* dst = out.data_ptr<float>();
  for (int64_t i = 0; i < src.size(0); ++i) {
    transform_image(in + i * per_image, dst + i * per_image, info, nullptr);
  }
  return out;
}

} // namespace sdn::data
