#include "sdn/inference/trace_builder.h"

#include "sdn/data/synthetic.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(TraceBuilder, SelectSplitPicksTheSplitAndNamesBadOnes) {
  sdn::data::DataOptions options;
  options.name = "synthetic";
  options.synthetic_train = 40;
  options.synthetic_test = 20;
  options.synthetic_classes = 4;
  const auto splits = sdn::data::make_synthetic_splits(options);
  EXPECT_EQ(&sdn::inference::select_split(splits, "train"), &splits.train);
  EXPECT_EQ(&sdn::inference::select_split(splits, "test"), &splits.test);
  if (splits.val.size() == 0) {
    EXPECT_NE(
        message_of([&] {
          sdn::inference::select_split(splits, "val");
        }).find("no validation split"),
        std::string::npos);
  }
  EXPECT_NE(
      message_of([&] {
        sdn::inference::select_split(splits, "dev");
      }).find("--split"),
      std::string::npos);
}

TEST(TraceBuilder, OptionsNameTheBadParameter) {
  sdn::inference::TraceOptions options;
  EXPECT_NE(
      message_of([&] { options.validate(); }).find("--checkpoint"),
      std::string::npos);
  options.checkpoint = "c";
  options.split = "dev";
  EXPECT_NE(
      message_of([&] { options.validate(); }).find("--split"),
      std::string::npos);
  options.split = "val";
  options.max_samples = -1;
  EXPECT_NE(
      message_of([&] { options.validate(); }).find("--max-samples"),
      std::string::npos);
}
