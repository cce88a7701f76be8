#include "sdn/pipeline/paper.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <map>
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

TEST(Regimes, NamesKeysTitlesAndModes) {
  using sdn::checkpoint::Mode;
  using sdn::pipeline::parse_regime;
  const auto clean = parse_regime("ic-only-clean");
  EXPECT_EQ(clean.key, "ic_only_clean");
  EXPECT_EQ(clean.title, "IC-only, clean");
  EXPECT_EQ(clean.mode, Mode::kIcOnly);
  EXPECT_TRUE(clean.clean);
  EXPECT_FALSE(clean.distill);
  const auto mixed = parse_regime("mixed+distill");
  EXPECT_EQ(mixed.key, "mixed_distill");
  EXPECT_EQ(mixed.title, "Mixed + distillation");
  EXPECT_EQ(mixed.mode, Mode::kMixed);
  EXPECT_TRUE(mixed.distill);
  EXPECT_EQ(parse_regime("sdn").mode, Mode::kSdn);
  EXPECT_FALSE(parse_regime("ic-only").clean);
  for (const char* bad :
       {"", "+distill", "cnn", "sdn+", "mixed+distill+distill", "SDN"}) {
    const auto message =
        sdn::testing::error_message([&] { parse_regime(bad); });
    EXPECT_NE(message.find("--regimes: expected ic-only"), std::string::npos)
        << bad << ": " << message;
  }
}

TEST(Regimes, ValidateRefusesRepeatsEmptyAndMixedOptionsWithoutMixed) {
  sdn::pipeline::PaperOptions options;
  options.regimes = {"ic-only", "sdn", "mixed", "mixed+distill"};
  EXPECT_EQ(validate_message(options), "");
  options.regimes = {};
  EXPECT_NE(validate_message(options).find("--regimes"), std::string::npos);
  options.regimes = {"sdn", "mixed", "sdn"};
  EXPECT_NE(
      validate_message(options).find("--regimes: sdn is given twice"),
      std::string::npos);
  options.regimes = {"sdn"};
  options.mixed_epochs = 2;
  EXPECT_NE(
      validate_message(options).find("--mixed-epochs"), std::string::npos);
  options.regimes = {"mixed"};
  options.mixed_epochs = 0;
  EXPECT_NE(
      validate_message(options).find("--mixed-epochs must be > 0"),
      std::string::npos);
}

namespace {

// A report with the figures the claims read.
sdn::report::Report claim_report(
    std::vector<double> exits,
    double half_accuracy,
    double half_cost,
    double destructive) {
  sdn::report::Report r;
  r.exit_accuracy = std::move(exits);
  r.cnn_accuracy = 90.0;
  sdn::report::Budgets budgets;
  sdn::report::BudgetEntry half;
  half.accuracy = half_accuracy;
  half.cost = half_cost;
  budgets.half = half;
  r.budgets = budgets;
  sdn::report::Overthinking o;
  o.destructive.rate = destructive;
  r.overthinking = o;
  return r;
}

} // namespace

TEST(Regimes, ClaimsPerRegimeAndSdnAgainstIcOnlyOnlyWithBoth) {
  using sdn::pipeline::parse_regime;
  std::map<std::string, sdn::report::Report> reports;
  reports["ic_only"] =
      claim_report({60, 70, 80, 85, 88, 89, 90}, 89.5, 0.45, 0.5);
  reports["sdn"] = claim_report({65, 72, 79, 86, 88, 89, 90}, 88.0, 0.40, 0.2);
  reports["mixed"] = claim_report({70, 75, 82, 87, 89, 90, 91}, 90.5, 0.6, 0.4);
  const auto all = sdn::pipeline::assess_claims(
      {parse_regime("ic-only"), parse_regime("sdn"), parse_regime("mixed")},
      reports);
  // Cost, destructive share and confusion per regime, plus SDN vs IC-only.
  ASSERT_EQ(all.size(), 3u * 3 + 1);
  EXPECT_EQ(all[0].verdict, "supported"); // IC-only: 89.5 % at 0.45
  EXPECT_EQ(all[1].verdict, "not supported"); // SDN: 2 points lost
  EXPECT_EQ(all[2].verdict, "not supported"); // mixed: cost 0.6
  EXPECT_NE(all[2].claim.find("(Mixed)"), std::string::npos);
  // SDN's IC1-IC3 against IC-only's: 65 > 60, 72 > 70, 79 < 80.
  EXPECT_NE(all[3].claim.find("SDN training makes"), std::string::npos);
  EXPECT_EQ(all[3].verdict, "not supported");
  EXPECT_EQ(all[4].verdict, "supported"); // destructive 0.5
  EXPECT_EQ(all[5].verdict, "not supported"); // 0.2
  EXPECT_EQ(all[6].verdict, "supported"); // 0.4

  const auto one = sdn::pipeline::assess_claims(
      {parse_regime("mixed"), parse_regime("sdn")}, reports);
  ASSERT_EQ(one.size(), 2u * 3);
  for (const auto& c : one) {
    EXPECT_EQ(c.claim.find("SDN training makes"), std::string::npos);
  }
  EXPECT_NE(
      sdn::testing::error_message([&] {
        sdn::pipeline::assess_claims({parse_regime("ic-only-clean")}, reports);
      }).find("no report of the regime ic-only-clean"),
      std::string::npos);
}
