#include "sdn/train/bench.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <string>

TEST(BenchTrain, OptionsNameTheBadParameter) {
  sdn::train::TrainBenchOptions options;
  EXPECT_NO_THROW(options.validate());
  options.steps = 0;
  try {
    options.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--steps"), std::string::npos);
  }
  options.steps = 1;
  options.repetitions = 0;
  EXPECT_THROW(options.validate(), sdn::Error);
  options.repetitions = 1;
  options.side = 7;
  try {
    options.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("--side must be 32 or 64, got 7"),
        std::string::npos);
  }
}

TEST(BenchTrain, ReportsEveryRepetitionAndTheirMedian) {
  // A tiny step (ResNet-56 CNN, two one-channel images): shape of the
  // result only; speed targets live in `sdn bench train`.
  sdn::train::TrainBenchOptions options;
  options.with_ics = false;
  options.batch_size = 2;
  options.channels = 1;
  options.classes = 3;
  options.warmup_steps = 0;
  options.steps = 1;
  options.repetitions = 3;
  const auto r = sdn::train::bench_train_step(options);
  ASSERT_EQ(r.images_per_second.size(), 3u);
  for (const double v : r.images_per_second) {
    EXPECT_GT(v, 0);
  }
  EXPECT_GT(r.median, 0);
}
