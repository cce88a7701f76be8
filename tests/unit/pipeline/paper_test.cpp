#include "sdn/pipeline/paper.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

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
}
