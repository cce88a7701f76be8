#include "sdn/pipeline/paper.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

// The message of the sdn::Error `options.validate()` throws ("" if none).
std::string validate_message(const sdn::pipeline::PaperOptions& options) {
  return sdn::testing::error_message([&] { options.validate(); });
}

} // namespace

TEST(PaperOptions, DefaultsAreValidAndBadValuesNameTheOption) {
  sdn::pipeline::PaperOptions options;
  EXPECT_EQ(validate_message(options), "");
  options.ic_epochs = 0;
  EXPECT_NE(validate_message(options).find("--ic-epochs"), std::string::npos);
  options = {};
  options.grid_images = -1;
  EXPECT_NE(validate_message(options).find("--grid-images"), std::string::npos);
  options = {};
  options.data.val_size = 0;
  EXPECT_NE(validate_message(options).find("--val-size"), std::string::npos);
  // The trainings' own checks run before anything is written.
  options = {};
  options.arch = "bogus";
  EXPECT_NE(validate_message(options).find("'bogus'"), std::string::npos)
      << validate_message(options);
}

TEST(PaperOptions, QuickPresetKeepsWhatTheUserGave) {
  sdn::pipeline::PaperOptions defaults;
  sdn::pipeline::PaperOptions quick;
  quick.apply_quick();
  EXPECT_FALSE(sdn::pipeline::PaperOptions::quick_options().empty());
  EXPECT_LT(quick.data.train_subset, defaults.data.train_subset);

  sdn::pipeline::PaperOptions given;
  given.data.train_subset = 1234;
  given.apply_quick({"--train-subset"});
  EXPECT_EQ(given.data.train_subset, 1234);
  EXPECT_EQ(given.cnn_epochs, quick.cnn_epochs);

  // Every value the preset sets can be kept: with all its options given,
  // nothing changes (--batch-size was once left out and overridden).
  const auto& names = sdn::pipeline::PaperOptions::quick_options();
  sdn::pipeline::PaperOptions all;
  all.apply_quick(std::set<std::string>(names.begin(), names.end()));
  EXPECT_EQ(all.batch_size, defaults.batch_size);
  EXPECT_EQ(all.cnn_epochs, defaults.cnn_epochs);
  EXPECT_EQ(all.ic_epochs, defaults.ic_epochs);
  EXPECT_EQ(all.milestones, defaults.milestones);
  EXPECT_EQ(all.ic_milestones, defaults.ic_milestones);
  EXPECT_EQ(all.warmup_steps, defaults.warmup_steps);
  EXPECT_EQ(all.data.train_subset, defaults.data.train_subset);
  EXPECT_EQ(all.data.val_size, defaults.data.val_size);
  EXPECT_EQ(all.test_samples, defaults.test_samples);
  EXPECT_EQ(all.train_trace_samples, defaults.train_trace_samples);
  EXPECT_EQ(all.ood_samples, defaults.ood_samples);
}
