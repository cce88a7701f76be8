#include "sdn/analysis/backdoor.h"
#include "sdn/util/error.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace sdn::analysis;
using fixtures::make_trace;

// Triggered trace (exits IC1, final; 3 classes; target 2):
//   b0 label 0: IC1 says 0, final says 2 (fooled)
//   b1 label 1: IC1 says 2, final says 2
//   b2 label 2: the target class itself: not attacked
//   b3 label 0: IC1 says 0, final says 0
ExitTrace triggered() {
  return make_trace(
      {{{0.8F, 0.1F, 0.1F}, {0.1F, 0.1F, 0.8F}},
       {{0.1F, 0.2F, 0.7F}, {0.1F, 0.2F, 0.7F}},
       {{0.0F, 0.0F, 1.0F}, {0.0F, 0.1F, 0.9F}},
       {{0.6F, 0.3F, 0.1F}, {0.7F, 0.2F, 0.1F}}},
      {0, 1, 2, 0},
      {0.4, 1.0});
}

TEST(Backdoor, AttackSuccessCleanAccuracyAndDestructive) {
  // Clean: IC1 right on 1 of 2, final on 2 of 2.
  const ExitTrace clean = make_trace(
      {{{0.6F, 0.3F, 0.1F}, {0.9F, 0.05F, 0.05F}},
       {{0.5F, 0.4F, 0.1F}, {0.1F, 0.8F, 0.1F}}},
      {0, 1},
      {0.4, 1.0});
  const BackdoorResult r = analyze_backdoor(triggered(), clean, 2);
  EXPECT_EQ(r.target, 2);
  // Attacked: b0 b1 b3. Target predicted at IC1: b1; at final: b0 b1.
  EXPECT_EQ(r.num_attacked, 3);
  ASSERT_EQ(r.attack_success.size(), 2u);
  EXPECT_NEAR(r.attack_success[0], 100.0 / 3, 1e-9);
  EXPECT_NEAR(r.attack_success[1], 200.0 / 3, 1e-9);
  EXPECT_EQ(r.clean_accuracy, (std::vector<double>{50, 100}));
  // True-label accuracy on triggered inputs: IC1 b0 b2 b3, final b2 b3.
  EXPECT_EQ(r.triggered_accuracy, (std::vector<double>{75, 50}));
  // The final exit is wrong on b0 and b1; IC1 is right on b0 -> 1 / 2.
  EXPECT_EQ(r.destructive.wrong_final, 2);
  EXPECT_EQ(r.destructive.per_exit[0].count, 1);
  EXPECT_DOUBLE_EQ(r.destructive.rate, 0.5);
}

TEST(Backdoor, RejectsMismatchAndBadTarget) {
  const ExitTrace other =
      make_trace({{{0.5F, 0.5F}, {0.5F, 0.5F}}}, {0}, {0.4, 1.0});
  EXPECT_THROW(analyze_backdoor(triggered(), other, 0), sdn::Error);
  EXPECT_THROW(analyze_backdoor(triggered(), triggered(), 3), sdn::Error);
  // Only target-class samples: the success rate is undefined.
  const ExitTrace only_target =
      make_trace({{{0.0F, 0.0F, 1.0F}, {0.0F, 0.0F, 1.0F}}}, {2}, {0.4, 1.0});
  const BackdoorResult r = analyze_backdoor(only_target, only_target, 2);
  EXPECT_EQ(r.num_attacked, 0);
  EXPECT_TRUE(std::isnan(r.attack_success[0]));
}

} // namespace
