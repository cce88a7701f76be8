#include "sdn/analysis/exit_policy.h"
#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include "error_message.h"
#include "trace_fixtures.h"

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
  // The output the sample would leave with: the exit's own or the policy's
  // combination.
  std::vector<float> out(view.current(), view.current() + view.num_classes);
  if (policy.combines()) {
    policy.combine(view, out.data());
  }
  view.top_class = std::max_element(out.begin(), out.end()) - out.begin();
  view.top_prob = out[static_cast<size_t>(view.top_class)];
  return policy.exits(view);
}

// A validation trace of one IC and the final exit whose IC confidences are
// 0.9, 0.8, 0.7 and 0.6 (two classes).
ExitTrace four_sample_val() {
  ExitTrace t;
  t.num_samples = 4;
  t.num_exits = 2;
  t.num_classes = 2;
  for (const float c : {0.9F, 0.8F, 0.7F, 0.6F}) {
    t.probs.insert(t.probs.end(), {c, 1 - c, 0.5F, 0.5F});
    t.labels.push_back(0);
  }
  t.exit_cost = {0.5, 1.0};
  return t;
}

// budget-fit at r = 1 on four_sample_val(): pi_1 = 1/2, so T_1 is the
// second highest confidence, 0.8.
std::unique_ptr<ExitPolicy> budget_fit_at_1() {
  static const ExitTrace val = four_sample_val();
  FitTraces fit;
  fit.val = &val;
  return make_exit_policy("budget-fit", 1.0, fit);
}

// The ensemble with zero weights and biases: exit m answers with the
// normalised geometric mean of p_0..p_m.
std::unique_ptr<ExitPolicy> zero_ensemble(double q) {
  return make_ensemble_policy(q, EnsembleWeights::zeros(3, 2));
}

// Hand-worked decisions: every registered policy has at least one case
// that exits and one that stays (a new policy adds its entries here).
struct Case {
  std::string policy;
  double param;
  std::vector<std::vector<float>> rows; // exits 0..e, deciding at e
  bool exits;
  /// Makes the policy when it is fitted (else make_exit_policy(policy,
  /// param)).
  std::unique_ptr<ExitPolicy> (*make)() = nullptr;
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
      // patience t: leave at the first IC e >= t whose class the t exits
      // before it share. Classes a,a,b,b,b: t = 2 leaves at the fifth exit
      // (0-based 4), not the fourth; t = 1 at the second.
      {"patience",
       2,
       {{.9F, .1F}, {.8F, .2F}, {.3F, .7F}, {.4F, .6F}, {.1F, .9F}},
       true},
      {"patience", 2, {{.9F, .1F}, {.8F, .2F}, {.3F, .7F}, {.4F, .6F}}, false},
      {"patience", 1, {{.9F, .1F}, {.6F, .4F}}, true},
      {"patience", 1, {{.9F, .1F}, {.4F, .6F}}, false},
      // Not before exit t, however confident: there is nothing to agree
      // with.
      {"patience", 1, {{1.0F, 0.0F}}, false},
      // budget-fit: c >= T_1 = 0.8 (see budget_fit_at_1).
      {"budget-fit", 1.0, {{0.85F, 0.15F}}, true, budget_fit_at_1},
      {"budget-fit", 1.0, {{0.8F, 0.2F}}, true, budget_fit_at_1},
      {"budget-fit", 1.0, {{0.75F, 0.25F}}, false, budget_fit_at_1},
      // ensemble with zero weights: at exit 0, p_0 itself; at exit 1,
      // sqrt(p_0 * p_1) normalised: [.9 .1] and [.5 .5] give .75.
      {"ensemble",
       0.9,
       {{0.9F, 0.1F}},
       true,
       [] { return zero_ensemble(0.9); }},
      {"ensemble",
       0.91,
       {{0.9F, 0.1F}},
       false,
       [] { return zero_ensemble(0.91); }},
      {"ensemble",
       0.74,
       {{0.9F, 0.1F}, {0.5F, 0.5F}},
       true,
       [] { return zero_ensemble(0.74); }},
      {"ensemble",
       0.76,
       {{0.9F, 0.1F}, {0.5F, 0.5F}},
       false,
       [] { return zero_ensemble(0.76); }},
  };
  return kCases;
}

TEST(ExitPolicy, HandWorkedDecisions) {
  for (const Case& c : cases()) {
    const auto policy = c.make ? c.make() : make_exit_policy(c.policy, c.param);
    EXPECT_EQ(policy->name(), c.policy);
    EXPECT_EQ(policy->param(), c.param);
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
      exit_policy_names(),
      (std::vector<std::string>{
          "max-prob", "entropy", "patience", "budget-fit", "ensemble"}));
  EXPECT_EQ(exit_policy_types().front().name, kMaxProbPolicy);
  // A trace to fit on, of 7 exits (ResNet-56's).
  const ExitTrace fit_on = fixtures::random_trace(30, 7, 4, 3);
  FitTraces fit;
  fit.val = &fit_on;
  fit.train = &fit_on;
  for (const ExitPolicyType& type : exit_policy_types()) {
    EXPECT_EQ(&exit_policy_type(type.name), &type);
    EXPECT_FALSE(type.summary.empty());
    const std::vector<double> grid = type.grid(7);
    ASSERT_FALSE(grid.empty()) << type.name;
    EXPECT_TRUE(std::is_sorted(grid.begin(), grid.end()));
    EXPECT_TRUE(std::adjacent_find(grid.begin(), grid.end()) == grid.end());
    const auto maker = type.fitted(fit);
    for (const double x : grid) {
      EXPECT_TRUE(type.range.contains(x)) << type.name << " " << x;
      const auto policy = maker->make(x);
      EXPECT_EQ(policy->name(), type.name);
      EXPECT_EQ(policy->param(), x);
      EXPECT_GE(policy->history(), 1);
      EXPECT_NO_THROW(policy->check_network(7, 4));
    }
    // Both ends of the range are valid.
    EXPECT_NO_THROW(make_exit_policy(type.name, type.range.low, fit));
    EXPECT_NO_THROW(make_exit_policy(type.name, type.range.high, fit));
    // A fitted policy needs its trace, and refuses another network's shape.
    if (type.fit != PolicyFit::kNone) {
      EXPECT_THROW(make_exit_policy(type.name, grid.front()), sdn::Error);
      EXPECT_THROW(maker->make(grid.front())->check_network(6, 4), sdn::Error);
    }
  }
  // patience's grid is 1 .. E-2: none for a network of two exits.
  EXPECT_EQ(
      exit_policy_type("patience").grid(7),
      (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(exit_policy_type("patience").grid(2).empty());
  EXPECT_EQ(exit_policy_type("budget-fit").grid(7).size(), 39u);
  EXPECT_EQ(exit_policy_type("budget-fit").grid(7).front(), 0.05);
  EXPECT_EQ(exit_policy_type("budget-fit").grid(7).back(), 1.95);
}

TEST(ExitPolicy, UnknownNameListsTheKnownOnes) {
  try {
    make_exit_policy("calm", 2);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--policy"), std::string::npos) << msg;
    EXPECT_NE(
        msg.find("max-prob, entropy, patience, budget-fit, ensemble"),
        std::string::npos)
        << msg;
    EXPECT_NE(msg.find("'calm'"), std::string::npos) << msg;
  }
}

TEST(ExitPolicy, FittedPoliciesNameTheTraceTheyNeed) {
  const auto message = [](const std::string& name) {
    return sdn::testing::error_message([&] { make_exit_policy(name, 0.5); });
  };
  EXPECT_NE(message("budget-fit").find("--val-trace"), std::string::npos);
  EXPECT_NE(message("ensemble").find("--train-trace"), std::string::npos);
}

TEST(ExitPolicy, BudgetFitThresholds) {
  const ExitTrace val = four_sample_val();
  // r = 1: pi_1 = 1/2: floor(4 * .5) = 2nd highest.
  EXPECT_EQ(fit_budget_thresholds(val, 1.0), (std::vector<float>{0.8F}));
  // r = 1/20: pi_1 = 1 / 1.05, floor(4 * .952) = 3rd highest.
  EXPECT_EQ(fit_budget_thresholds(val, 0.05), (std::vector<float>{0.7F}));
  // r near 0 sends everyone to IC1; large r nobody (floor(4 * pi_1) = 0).
  EXPECT_EQ(fit_budget_thresholds(val, 1e-20), (std::vector<float>{0.6F}));
  // r = 1.95: pi_1 = 1.95 / (1.95 + 1.95^2) = .339, floor(1.36): the
  // highest.
  EXPECT_EQ(fit_budget_thresholds(val, 1.95), (std::vector<float>{0.9F}));
  // A larger r than the grid's: floor(4 * pi_1) = 0, nobody leaves.
  EXPECT_TRUE(std::isinf(fit_budget_thresholds(val, 10.0).front()));
}

TEST(ExitPolicy, BudgetFitSharesFollowTheRatio) {
  // Distinct confidences: at r = 1 every exit gets N / E of the
  // validation samples (here 70 / 7 = 10 each).
  const ExitTrace val = fixtures::random_trace(70, 7, 5, 11);
  FitTraces fit;
  fit.val = &val;
  const auto policy = make_exit_policy("budget-fit", 1.0, fit);
  const std::vector<float> t = fit_budget_thresholds(val, 1.0);
  ASSERT_EQ(t.size(), 6u);
  // Going through the ICs as the fit does: 10 leave at each.
  std::vector<bool> gone(70, false);
  for (int64_t k = 0; k < 6; ++k) {
    int64_t leave = 0;
    for (int64_t n = 0; n < 70; ++n) {
      if (!gone[static_cast<size_t>(n)] &&
          val.confidence(n, k) >= t[static_cast<size_t>(k)]) {
        gone[static_cast<size_t>(n)] = true;
        ++leave;
      }
    }
    EXPECT_EQ(leave, 10) << "IC " << k;
  }
  EXPECT_NE(policy->describe().find("r = 1"), std::string::npos)
      << policy->describe();
}

TEST(ExitPolicy, EnsembleWithZeroWeightsAtTheFirstExitIsItsSoftmax) {
  const EnsembleWeights zeros = EnsembleWeights::zeros(3, 4);
  const std::vector<float> rows = {0.1F, 0.2F, 0.3F, 0.4F};
  std::vector<float> q(4);
  zeros.combine(rows.data(), 0, q.data());
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_NEAR(q[c], rows[c], 1e-7);
  }
  // A probability that underflowed to 0 stays finite: floored, not log 0.
  const std::vector<float> two = {1.0F, 0.0F, 0.5F, 0.5F};
  std::vector<float> q2(2);
  EnsembleWeights::zeros(2, 2).combine(two.data(), 1, q2.data());
  EXPECT_TRUE(std::isfinite(q2[0]) && std::isfinite(q2[1]));
  EXPECT_NEAR(q2[0] + q2[1], 1.0F, 1e-6);
  EXPECT_GT(q2[0], 0.999F);
}

// Mean cross-entropy of exit m's ensemble output on `t`.
double ensemble_loss(const EnsembleWeights& w, const ExitTrace& t, int64_t m) {
  double loss = 0;
  std::vector<float> q(static_cast<size_t>(t.num_classes));
  for (int64_t n = 0; n < t.num_samples; ++n) {
    w.combine(t.probs_at(n, 0), m, q.data());
    loss -= std::log(q[static_cast<size_t>(t.labels[static_cast<size_t>(n)])]);
  }
  return loss / static_cast<double>(t.num_samples);
}

TEST(ExitPolicy, FittedEnsembleLowersTheCrossEntropyDeterministically) {
  const ExitTrace t = fixtures::random_trace(60, 4, 3, 5);
  const EnsembleWeights fitted = fit_ensemble(t);
  const EnsembleWeights zeros = EnsembleWeights::zeros(4, 3);
  ASSERT_EQ(fitted.w.size(), 4u);
  for (int64_t m = 0; m < 4; ++m) {
    EXPECT_EQ(
        fitted.w[static_cast<size_t>(m)].size(), static_cast<size_t>(m + 1));
    EXPECT_EQ(fitted.b[static_cast<size_t>(m)].size(), 3u);
    EXPECT_LT(ensemble_loss(fitted, t, m), ensemble_loss(zeros, t, m)) << m;
  }
  const EnsembleWeights again = fit_ensemble(t);
  EXPECT_EQ(again.w, fitted.w);
  EXPECT_EQ(again.b, fitted.b);
}

TEST(ExitPolicy, ParameterOutOfRangeNamesOptionRangeAndValue) {
  const ExitTrace fit_on = fixtures::random_trace(10, 4, 3, 1);
  FitTraces fit;
  fit.val = &fit_on;
  for (const ExitPolicyType& type : exit_policy_types()) {
    for (const double bad :
         {type.range.low - 0.5,
          type.range.high + 0.5,
          std::numeric_limits<double>::quiet_NaN()}) {
      try {
        make_exit_policy(type.name, bad, fit);
        FAIL() << type.name << " accepted " << bad;
      } catch (const sdn::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("--param"), std::string::npos) << msg;
        EXPECT_NE(msg.find(type.name), std::string::npos) << msg;
        EXPECT_NE(
            msg.find(sdn::str_printf(
                "[%.10g, %.10g]", type.range.low, type.range.high)),
            std::string::npos)
            << msg;
        EXPECT_NE(
            msg.find(sdn::str_printf("got %.10g", bad)), std::string::npos)
            << msg;
      }
    }
  }
}

TEST(ExitPolicy, PatienceIsAWholeNumber) {
  const std::string msg =
      sdn::testing::error_message([] { make_exit_policy("patience", 1.5); });
  EXPECT_NE(
      msg.find("a whole number in [1, 1000000], got 1.5"), std::string::npos)
      << msg;
  // A value just outside a range is printed as it is, not rounded into it.
  EXPECT_NE(
      sdn::testing::error_message([] {
        make_exit_policy("max-prob", 1.0000001);
      }).find("got 1.0000001"),
      std::string::npos);
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
  EXPECT_EQ(exit_policy_type("max-prob").grid(7), grid);
  // entropy mirrors it: .0001, .001...009, .01...99.
  const std::vector<double> h = entropy_grid();
  EXPECT_EQ(h.size(), grid.size());
  EXPECT_EQ(h.front(), 0.0001);
  EXPECT_EQ(h[1], 0.001);
  EXPECT_EQ(h[10], 0.01);
  EXPECT_EQ(h.back(), 0.99);
  EXPECT_EQ(exit_policy_type("entropy").grid(7), h);
}

} // namespace
