#include "sdn/inference/trace_builder.h"

#include "error_message.h"
#include "sdn/data/synthetic.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

using sdn::testing::error_message;

namespace {} // namespace

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
        error_message([&] {
          sdn::inference::select_split(splits, "val");
        }).find("no validation split"),
        std::string::npos);
  }
  EXPECT_NE(
      error_message([&] {
        sdn::inference::select_split(splits, "dev");
      }).find("--split"),
      std::string::npos);
}

TEST(TraceBuilder, OptionsNameTheBadParameter) {
  sdn::inference::TraceOptions options;
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("--checkpoint"),
      std::string::npos);
  options.checkpoint = "c";
  options.split = "dev";
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("--split"),
      std::string::npos);
  options.split = "val";
  options.max_samples = -1;
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("--max-samples"),
      std::string::npos);
}

TEST(TraceProvenance, WritesTheMetaKeysAndReadsThemBack) {
  sdn::inference::TraceProvenance p;
  p.arch = "vgg16";
  p.dataset = "synthetic";
  p.mode = "sdn";
  p.epoch = 7;
  p.data.name = "synthetic";
  p.data.synthetic_classes = 4;
  p.max_samples = 20;
  nlohmann::json meta = {{"num_samples", 20}};
  sdn::inference::write_provenance(p, meta);
  // The keys meta.json has always had (docs/exit-trace.md).
  for (const char* key :
       {"arch", "dataset", "mode", "epoch", "data", "max_samples", "trigger"}) {
    EXPECT_TRUE(meta.contains(key)) << key;
  }
  EXPECT_EQ(meta.at("trigger"), false);
  EXPECT_FALSE(meta.contains("trigger_options"));
  EXPECT_EQ(meta.at("num_samples"), 20);
  auto back = sdn::inference::read_provenance(meta, "meta.json");
  EXPECT_EQ(back.arch, "vgg16");
  EXPECT_EQ(back.mode, "sdn");
  EXPECT_EQ(back.epoch, 7);
  EXPECT_EQ(back.max_samples, 20);
  EXPECT_EQ(back.data.synthetic_classes, 4);
  EXPECT_FALSE(back.trigger.has_value());

  p.trigger = sdn::data::TriggerOptions{};
  p.trigger->x = 3;
  p.trigger->target = 2;
  sdn::inference::write_provenance(p, meta);
  EXPECT_EQ(meta.at("trigger"), true);
  EXPECT_EQ(
      meta.at("trigger_options"),
      nlohmann::json({{"x", 3}, {"y", 26}, {"size", 5}, {"target", 2}}));
  back = sdn::inference::read_provenance(meta, "meta.json");
  ASSERT_TRUE(back.trigger.has_value());
  EXPECT_EQ(back.trigger->x, 3);
  EXPECT_EQ(back.trigger->target, 2);
}

TEST(TraceProvenance, MissingOrBadKeysAreErrorsNamingThem) {
  sdn::inference::TraceProvenance p;
  p.data.name = "synthetic";
  p.trigger = sdn::data::TriggerOptions{};
  nlohmann::json meta;
  sdn::inference::write_provenance(p, meta);
  for (const char* key :
       {"arch",
        "dataset",
        "mode",
        "epoch",
        "data",
        "max_samples",
        "trigger",
        "trigger_options"}) {
    nlohmann::json changed = meta;
    changed.erase(key);
    EXPECT_EQ(
        error_message(
            [&] { sdn::inference::read_provenance(changed, "t/meta.json"); }),
        std::string("t/meta.json: missing key '") + key + "'");
  }
  nlohmann::json changed = meta;
  changed["trigger_options"].erase("size");
  EXPECT_EQ(
      error_message(
          [&] { sdn::inference::read_provenance(changed, "t/meta.json"); }),
      "t/meta.json: missing key 'trigger_options.size'");
  changed = meta;
  changed["epoch"] = "ten";
  EXPECT_EQ(
      error_message(
          [&] { sdn::inference::read_provenance(changed, "t/meta.json"); }),
      "t/meta.json: key 'epoch': expected integer, found string");
}

TEST(OodImages, HeldOutClassesAreTheTestImagesOfTheOtherClasses) {
  sdn::data::DataOptions all;
  all.name = "synthetic";
  all.synthetic_train = 60;
  all.synthetic_test = 50;
  all.synthetic_classes = 5;
  all.val_size = 0;
  const auto whole = sdn::data::load_splits(all);
  sdn::data::DataOptions kept = all;
  kept.classes = {1, 3};
  const auto splits = sdn::data::load_splits(kept);
  const auto ood =
      sdn::inference::ood_images("held-out-classes", "", splits, kept, 0);
  // The test images of classes 0, 2, 4, in the test split's order.
  const auto labels = whole.test.labels;
  const auto held = (labels != 1).logical_and(labels != 3);
  const auto expected = whole.test.images.index({held});
  ASSERT_EQ(ood.images.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(ood.images, expected));
  EXPECT_EQ(ood.labels.size(0), expected.size(0));
  // At most max_samples of them.
  EXPECT_EQ(
      sdn::inference::ood_images("held-out-classes", "", splits, kept, 3)
          .size(),
      3);
  // A checkpoint trained on every class holds none out.
  const auto message = error_message([&] {
    sdn::inference::ood_images("held-out-classes", "", whole, all, 0);
  });
  EXPECT_NE(message.find("--ood-source held-out-classes"), std::string::npos)
      << message;
  EXPECT_NE(message.find("all 5 classes"), std::string::npos) << message;
}
