// Data loading throughput: BatchLoader images/s with training augmentation.
// The consumer does nothing, so this is the loader's ceiling; training must
// stay far below it for the loader never to be the bottleneck.
#include "sdn/data/loader.h"

#include <benchmark/benchmark.h>

namespace {

// Samples per epoch: large enough that an epoch is many batches.
constexpr int64_t kFashionSamples = 20000;
constexpr int64_t kTinySamples = 4000;

void run_epochs(
    benchmark::State& state,
    const sdn::data::Dataset& data,
    const sdn::data::DatasetInfo& info) {
  sdn::data::LoaderOptions options;
  options.batch_size = 128;
  options.shuffle = true;
  options.augment = true;
  int64_t images = 0;
  for (auto _ : state) {
    sdn::data::BatchLoader loader(data, info, options);
    sdn::data::Batch batch;
    while (loader.next(batch)) {
      benchmark::DoNotOptimize(batch.images.data_ptr<float>());
      images += batch.images.size(0);
    }
    ++options.epoch;
  }
  state.SetItemsProcessed(images);
}

sdn::data::DatasetInfo info_of(const std::string& name) {
  sdn::data::DataOptions options;
  options.name = name;
  return sdn::data::dataset_info(options);
}

// Fashion-MNIST shape (1x32x32), h-flip + pad-crop, batch 128.
void BM_LoaderFashionMnist(benchmark::State& state) {
  const auto info = info_of("fashion-mnist");
  sdn::data::Dataset data{
      torch::randint(0, 256, {kFashionSamples, 1, 32, 32}, torch::kUInt8),
      torch::randint(0, 10, {kFashionSamples}, torch::kInt64)};
  run_epochs(state, data, info);
}

// Tiny ImageNet shape (3x64x64), h-flip + pad-crop + colour jitter.
void BM_LoaderTinyImagenet(benchmark::State& state) {
  const auto info = info_of("tiny-imagenet");
  sdn::data::Dataset data{
      torch::randint(0, 256, {kTinySamples, 3, 64, 64}, torch::kUInt8),
      torch::randint(0, 200, {kTinySamples}, torch::kInt64)};
  run_epochs(state, data, info);
}

} // namespace

BENCHMARK(BM_LoaderFashionMnist)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoaderTinyImagenet)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
