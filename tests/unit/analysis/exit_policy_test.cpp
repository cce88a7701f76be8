#include "sdn/analysis/exit_policy.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace sdn::analysis;

// One sample's rows at exits 0..rows.size()-1, deciding at the last (E is
// one more: the final exit).
bool decide(
    const ExitPolicy& policy,
    const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& row : rows) {
    flat.insert(flat.end(), row.begin(), row.end());
  }
  ExitRows view;
  view.probs = flat.data();
  view.count = static_cast<int64_t>(rows.size());
  view.exit = view.count - 1;
  view.num_exits = view.count + 1;
  view.num_classes = static_cast<int64_t>(rows.front().size());
  const float* current = view.current();
  view.top_class =
      std::max_element(current, current + view.num_classes) - current;
  view.top_prob = current[view.top_class];
  return policy.exits(view);
}

// Hand-worked decisions: every registered policy has at least one case
// that exits and one that stays (a new policy adds its entries here).
struct Case {
  std::string policy;
  double param;
  std::vector<std::vector<float>> rows; // exits 0..e, deciding at e
  bool exits;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      // max-prob: c_e >= q in float32. 0.9f < 0.9 in double, but equal once
      // q is cast to float, so q = 0.9 takes it.
      {"max-prob", 0.9, {{0.9F, 0.1F}}, true},
      {"max-prob",
       static_cast<double>(std::nextafter(0.9F, 1.0F)),
       {{0.9F, 0.1F}},
       false},
      {"max-prob", 0.5, {{0.25F, 0.5F, 0.25F}}, true},
      {"max-prob", 0.51, {{0.25F, 0.5F, 0.25F}}, false},
      // Only the deciding exit's row counts: IC1 was confident, IC2 is not.
      {"max-prob", 0.8, {{0.9F, 0.1F}, {0.6F, 0.4F}}, false},
      // entropy: u = -sum p ln p / ln K <= h. [.5 .5 0 0]: ln 2 / ln 4 = .5.
      {"entropy", 0.5, {{0.5F, 0.5F, 0.0F, 0.0F}}, true},
      {"entropy", 0.49, {{0.5F, 0.5F, 0.0F, 0.0F}}, false},
      // One-hot: u = 0, exits even at h = 0; uniform: u = 1.
      {"entropy", 0.0, {{0.0F, 1.0F, 0.0F}}, true},
      {"entropy", 1.0, {{0.25F, 0.25F, 0.25F, 0.25F}}, true},
      {"entropy", 0.99, {{0.25F, 0.25F, 0.25F, 0.25F}}, false},
      // [.9 .05 .05]: (.0948 + 2 * .1498) / ln 3 = .3590.
      {"entropy", 0.36, {{0.9F, 0.05F, 0.05F}}, true},
      {"entropy", 0.35, {{0.9F, 0.05F, 0.05F}}, false},
  };
  return kCases;
}

TEST(ExitPolicy, HandWorkedDecisions) {
  for (const Case& c : cases()) {
    const auto policy = make_exit_policy(c.policy, c.param);
    EXPECT_EQ(decide(*policy, c.rows), c.exits)
        << c.policy << " at " << c.param << " (" << policy->describe() << ")";
  }
}

TEST(ExitPolicy, EveryRegisteredPolicyHasCases) {
  for (const std::string& name : exit_policy_names()) {
    bool exits = false;
    bool stays = false;
    for (const Case& c : cases()) {
      if (c.policy == name) {
        (c.exits ? exits : stays) = true;
      }
    }
    EXPECT_TRUE(exits && stays) << name << " needs hand-worked cases";
  }
}

TEST(ExitPolicy, Registry) {
  EXPECT_EQ(
      exit_policy_names(), (std::vector<std::string>{"max-prob", "entropy"}));
  EXPECT_EQ(exit_policy_types().front().name, kMaxProbPolicy);
  for (const ExitPolicyType& type : exit_policy_types()) {
    EXPECT_EQ(&exit_policy_type(type.name), &type);
    EXPECT_FALSE(type.summary.empty());
    ASSERT_FALSE(type.grid.empty()) << type.name;
    EXPECT_TRUE(std::is_sorted(type.grid.begin(), type.grid.end()));
    EXPECT_TRUE(
        std::adjacent_find(type.grid.begin(), type.grid.end()) ==
        type.grid.end());
    for (const double x : type.grid) {
      EXPECT_TRUE(type.range.contains(x)) << type.name << " " << x;
      const auto policy = type.make(x);
      EXPECT_EQ(policy->name(), type.name);
      EXPECT_EQ(policy->param(), x);
      EXPECT_GE(policy->history(), 1);
    }
    // Both ends of the range are valid.
    EXPECT_NO_THROW(make_exit_policy(type.name, type.range.low));
    EXPECT_NO_THROW(make_exit_policy(type.name, type.range.high));
  }
}

TEST(ExitPolicy, UnknownNameListsTheKnownOnes) {
  try {
    make_exit_policy("patience", 2);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--policy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("max-prob, entropy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'patience'"), std::string::npos) << msg;
  }
}

TEST(ExitPolicy, ParameterOutOfRangeNamesOptionRangeAndValue) {
  for (const ExitPolicyType& type : exit_policy_types()) {
    for (const double bad :
         {type.range.low - 0.5,
          type.range.high + 0.5,
          std::numeric_limits<double>::quiet_NaN()}) {
      try {
        make_exit_policy(type.name, bad);
        FAIL() << type.name << " accepted " << bad;
      } catch (const sdn::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("--param"), std::string::npos) << msg;
        EXPECT_NE(msg.find(type.name), std::string::npos) << msg;
        EXPECT_NE(msg.find("[0, 1]"), std::string::npos) << msg;
        EXPECT_NE(msg.find(sdn::str_cat("got ", bad)), std::string::npos)
            << msg;
      }
    }
  }
}

TEST(ExitPolicy, Describe) {
  EXPECT_EQ(
      make_exit_policy("max-prob", 0.9)->describe(), "max-softmax >= 0.9");
  EXPECT_EQ(
      make_exit_policy("entropy", 0.25)->describe(),
      "normalised entropy <= 0.25");
}

TEST(ExitPolicy, MaxProbability) {
  const std::vector<float> row = {0.2F, 0.5F, 0.3F};
  EXPECT_EQ(max_probability(row.data(), 3), 0.5F);
  EXPECT_EQ(max_probability(row.data(), 1), 0.2F);
}

TEST(ExitPolicy, NormalizedEntropy) {
  // Uniform: 1 (a float32 0.1 row sums to a hair above 1; clamped).
  const std::vector<float> uniform(10, 0.1F);
  EXPECT_DOUBLE_EQ(normalized_entropy(uniform.data(), 10), 1.0);
  // One-hot: 0 (0 ln 0 = 0).
  const std::vector<float> one_hot = {0.0F, 0.0F, 1.0F, 0.0F};
  EXPECT_EQ(normalized_entropy(one_hot.data(), 4), 0.0);
  // Two equal classes of four: ln 2 / ln 4 = 1/2.
  const std::vector<float> half = {0.5F, 0.0F, 0.5F, 0.0F};
  EXPECT_DOUBLE_EQ(normalized_entropy(half.data(), 4), 0.5);
  // One class: no uncertainty.
  const float one = 1.0F;
  EXPECT_EQ(normalized_entropy(&one, 1), 0.0);
}

TEST(ExitPolicy, RowsView) {
  // Rows of exits 1..3 held, deciding at exit 3.
  const std::vector<float> flat = {1, 2, 3, 4, 5, 6};
  ExitRows rows;
  rows.probs = flat.data();
  rows.count = 3;
  rows.exit = 3;
  rows.num_exits = 5;
  rows.num_classes = 2;
  EXPECT_EQ(rows.at(1)[0], 1.0F);
  EXPECT_EQ(rows.at(2)[1], 4.0F);
  EXPECT_EQ(rows.current(), rows.at(3));
  EXPECT_EQ(rows.current()[0], 5.0F);
}

TEST(ExitPolicy, Grids) {
  const std::vector<double> paper = paper_thresholds();
  EXPECT_EQ(paper.size(), 11u);
  const std::vector<double> grid = sweep_thresholds();
  // 99 steps of .01, 9 of .001 above .99, and .9999; the paper's values are
  // all among them.
  EXPECT_EQ(grid.size(), 99u + 9u + 1u);
  EXPECT_TRUE(std::is_sorted(grid.begin(), grid.end()));
  EXPECT_TRUE(std::adjacent_find(grid.begin(), grid.end()) == grid.end());
  for (const double q : paper) {
    EXPECT_NE(std::find(grid.begin(), grid.end(), q), grid.end()) << q;
    EXPECT_TRUE(is_paper_threshold(q));
  }
  EXPECT_FALSE(is_paper_threshold(0.11));
  EXPECT_DOUBLE_EQ(grid.front(), 0.01);
  EXPECT_DOUBLE_EQ(grid.back(), 0.9999);
  EXPECT_EQ(exit_policy_type("max-prob").grid, grid);
  // entropy mirrors it: .0001, .001...009, .01...99.
  const std::vector<double> h = entropy_grid();
  EXPECT_EQ(h.size(), grid.size());
  EXPECT_EQ(h.front(), 0.0001);
  EXPECT_EQ(h[1], 0.001);
  EXPECT_EQ(h[10], 0.01);
  EXPECT_EQ(h.back(), 0.99);
  EXPECT_EQ(exit_policy_type("entropy").grid, h);
}

} // namespace
