#include "sdn/analysis/exit_policy.h"

#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

namespace sdn::analysis {

namespace {

// Thresholds closer than this are the same grid point.
constexpr double kSameThreshold = 1e-12;

// docs/exit-trace.md#early-exit: exit when the top softmax probability reaches
// q.
class MaxProbPolicy final : public ExitPolicy {
 public:
  static constexpr const char* kName = kMaxProbPolicy;
  static constexpr const char* kSummary =
      "exit when the top softmax probability is >= the parameter";
  static constexpr ParamRange kRange{0, 1};
  static std::vector<double> grid(int64_t /*num_exits*/) {
    return sweep_thresholds();
  }

  explicit MaxProbPolicy(double q)
      : ExitPolicy(kName, q, kRange), q_(static_cast<float>(q)) {}

  bool exits(const ExitRows& rows) const override {
    // PyTorch compares a float32 confidence with a Python float in float32:
    // a confidence of 0.9f exits at q = 0.9 although 0.9f < 0.9 in double.
    return rows.top_prob >= q_;
  }

  std::string describe() const override {
    return str_cat("max-softmax >= ", param());
  }

 private:
  float q_;
};

// Exit when the softmax is nearly one-hot: its entropy, normalised by the
// uniform distribution's (ln K) into [0, 1], is at most h.
class EntropyPolicy final : public ExitPolicy {
 public:
  static constexpr const char* kName = "entropy";
  static constexpr const char* kSummary =
      "exit when the softmax's normalised entropy (entropy / ln K, in [0,1]) "
      "is <= the parameter";
  static constexpr ParamRange kRange{0, 1};
  static std::vector<double> grid(int64_t /*num_exits*/) {
    return entropy_grid();
  }

  explicit EntropyPolicy(double h) : ExitPolicy(kName, h, kRange) {}

  bool exits(const ExitRows& rows) const override {
    return normalized_entropy(rows.current(), rows.num_classes) <= param();
  }

  std::string describe() const override {
    return str_cat("normalised entropy <= ", param());
  }
};

// PABEE: leave once the last t+1 exits agree on the class.
class PatiencePolicy final : public ExitPolicy {
 public:
  static constexpr const char* kName = "patience";
  static constexpr const char* kSummary =
      "exit when the class has stayed the same over the last (parameter + "
      "1) exits; the parameter is the patience t = 1, 2, ...";
  static constexpr ParamRange kRange{1, 1e6, /*integer=*/true};
  static std::vector<double> grid(int64_t num_exits) {
    std::vector<double> out;
    for (int64_t t = 1; t <= num_exits - 2; ++t) {
      out.push_back(static_cast<double>(t));
    }
    return out;
  }

  explicit PatiencePolicy(double t)
      : ExitPolicy(kName, t, kRange), t_(static_cast<int64_t>(t)) {}

  int64_t history() const override {
    return t_ + 1;
  }

  bool exits(const ExitRows& rows) const override {
    if (rows.exit < t_) {
      return false;
    }
    for (int64_t e = rows.exit - t_; e < rows.exit; ++e) {
      const float* row = rows.at(e);
      if (first_argmax(row, rows.num_classes) != rows.top_class) {
        return false;
      }
    }
    return true;
  }

  std::string describe() const override {
    return str_cat("patience ", t_, " (the last ", t_ + 1, " exits agree)");
  }

 private:
  static int64_t first_argmax(const float* row, int64_t k) {
    int64_t best = 0;
    for (int64_t c = 1; c < k; ++c) {
      if (row[c] > row[best]) {
        best = c;
      }
    }
    return best;
  }

  int64_t t_;
};

// MSDNet's budgeted batch classification: per-IC thresholds fitted on the
// validation trace so that a geometric share of it leaves at each exit.
class BudgetFitPolicy final : public ExitPolicy {
 public:
  static constexpr const char* kName = "budget-fit";
  static constexpr const char* kSummary =
      "per-exit confidence thresholds fitted on the validation trace so that "
      "a share proportional to r^k leaves at exit k; the parameter is r";
  static constexpr ParamRange kRange{0.05, 1.95};
  static std::vector<double> grid(int64_t /*num_exits*/) {
    std::vector<double> out;
    for (int i = 1; i <= 39; ++i) {
      out.push_back(i / 20.0);
    }
    return out;
  }

  BudgetFitPolicy(double r, std::vector<float> thresholds)
      : ExitPolicy(kName, r, kRange), thresholds_(std::move(thresholds)) {}

  bool exits(const ExitRows& rows) const override {
    return rows.top_prob >= thresholds_[static_cast<size_t>(rows.exit)];
  }

  std::string describe() const override {
    std::string t;
    for (const float x : thresholds_) {
      t += (t.empty() ? "" : ", ") + str_printf("%.4g", x);
    }
    return str_cat("budget-fit r = ", param(), " (thresholds ", t, ")");
  }

  void check_network(int64_t num_exits, int64_t /*num_classes*/)
      const override {
    check(
        static_cast<int64_t>(thresholds_.size()) == num_exits - 1,
        "the budget-fit policy was fitted on a validation trace of ",
        thresholds_.size() + 1,
        " exits, but the network has ",
        num_exits);
  }

  class Maker final : public PolicyMaker {
   public:
    explicit Maker(const ExitTrace& val) : val_(val) {}
    std::unique_ptr<ExitPolicy> make(double r) const override {
      kRange.check(kName, r);
      return std::make_unique<BudgetFitPolicy>(
          r, fit_budget_thresholds(val_, r));
    }

   private:
    ExitTrace val_;
  };

 private:
  std::vector<float> thresholds_;
};

// Zero Time Waste's geometric ensemble of the exits so far, then max-prob on
// its output.
class EnsemblePolicy final : public ExitPolicy {
 public:
  static constexpr const char* kName = "ensemble";
  static constexpr const char* kSummary =
      "exit when the top probability of the geometric ensemble of the exits "
      "so far (weights fitted on the training or validation trace) is >= the "
      "parameter";
  static constexpr ParamRange kRange{0, 1};
  static std::vector<double> grid(int64_t /*num_exits*/) {
    return sweep_thresholds();
  }

  EnsemblePolicy(double q, std::shared_ptr<const EnsembleWeights> weights)
      : ExitPolicy(kName, q, kRange),
        q_(static_cast<float>(q)),
        weights_(std::move(weights)) {}

  int64_t history() const override {
    return kAllExits;
  }

  bool exits(const ExitRows& rows) const override {
    return rows.top_prob >= q_;
  }

  std::string describe() const override {
    return str_cat("ensemble max-probability >= ", param());
  }

  bool combines() const override {
    return true;
  }

  void combine(const ExitRows& rows, float* out) const override {
    check(
        rows.count == rows.exit + 1,
        "the ensemble policy needs every exit's row up to exit ",
        rows.exit,
        ", got ",
        rows.count);
    weights_->combine(rows.probs, rows.exit, out);
  }

  void check_network(int64_t num_exits, int64_t num_classes) const override {
    check(
        weights_->num_exits == num_exits &&
            weights_->num_classes == num_classes,
        "the ensemble policy was fitted on a trace of ",
        weights_->num_exits,
        " exits and ",
        weights_->num_classes,
        " classes, but the network has ",
        num_exits,
        " and ",
        num_classes);
  }

  class Maker final : public PolicyMaker {
   public:
    explicit Maker(const ExitTrace& trace)
        : weights_(std::make_shared<EnsembleWeights>(fit_ensemble(trace))) {}
    std::unique_ptr<ExitPolicy> make(double q) const override {
      return std::make_unique<EnsemblePolicy>(q, weights_);
    }

   private:
    std::shared_ptr<const EnsembleWeights> weights_;
  };

 private:
  float q_;
  std::shared_ptr<const EnsembleWeights> weights_;
};

// Makes a policy that needs no fitting.
template <typename Policy>
class PlainMaker final : public PolicyMaker {
 public:
  std::unique_ptr<ExitPolicy> make(double param) const override {
    return std::make_unique<Policy>(param);
  }
};

template <typename Policy>
ExitPolicyType entry() {
  return {
      Policy::kName,
      Policy::kSummary,
      Policy::kRange,
      &Policy::grid,
      PolicyFit::kNone,
      BudgetPick::kBestAccuracy,
      [](const FitTraces&) -> std::unique_ptr<PolicyMaker> {
        return std::make_unique<PlainMaker<Policy>>();
      }};
}

ExitPolicyType budget_fit_entry() {
  return {
      BudgetFitPolicy::kName,
      BudgetFitPolicy::kSummary,
      BudgetFitPolicy::kRange,
      &BudgetFitPolicy::grid,
      PolicyFit::kValidation,
      BudgetPick::kLargestCost,
      [](const FitTraces& traces) -> std::unique_ptr<PolicyMaker> {
        check(
            traces.val != nullptr,
            "the budget-fit policy fits its thresholds on a validation trace: "
            "give --val-trace");
        return std::make_unique<BudgetFitPolicy::Maker>(*traces.val);
      }};
}

ExitPolicyType ensemble_entry() {
  return {
      EnsemblePolicy::kName,
      EnsemblePolicy::kSummary,
      EnsemblePolicy::kRange,
      &EnsemblePolicy::grid,
      PolicyFit::kTraining,
      BudgetPick::kBestAccuracy,
      [](const FitTraces& traces) -> std::unique_ptr<PolicyMaker> {
        const ExitTrace* on = traces.train ? traces.train : traces.val;
        check(
            on != nullptr,
            "the ensemble policy fits its weights on a trace: give "
            "--train-trace (or --val-trace)");
        return std::make_unique<EnsemblePolicy::Maker>(*on);
      }};
}

} // namespace

float max_probability(const float* row, int64_t num_classes) {
  float best = row[0];
  for (int64_t i = 1; i < num_classes; ++i) {
    if (row[i] > best) {
      best = row[i];
    }
  }
  return best;
}

double normalized_entropy(const float* row, int64_t num_classes) {
  if (num_classes <= 1) {
    return 0; // one class: no uncertainty
  }
  double sum = 0;
  for (int64_t i = 0; i < num_classes; ++i) {
    if (row[i] > 0) { // 0 ln 0 = 0
      const double p = row[i];
      sum -= p * std::log(p);
    }
  }
  // A float32 uniform row may come out a rounding error above 1.
  return std::min(1.0, sum / std::log(static_cast<double>(num_classes)));
}

void ParamRange::check(const std::string& policy, double x) const {
  // Ten significant digits: 1.0000001 must not print as 1.
  const auto number = [](double v) { return str_printf("%.10g", v); };
  sdn::check(
      contains(x),
      "--param of the ",
      policy,
      " policy must be ",
      integer ? "a whole number " : "",
      "in [",
      number(low),
      ", ",
      number(high),
      "], got ",
      number(x));
}

ExitPolicy::ExitPolicy(std::string name, double param, ParamRange range)
    : name_(std::move(name)), param_(param) {
  range.check(name_, param);
}

void ExitPolicy::combine(const ExitRows& rows, float* out) const {
  std::copy(rows.current(), rows.current() + rows.num_classes, out);
}

void ExitPolicy::check_network(int64_t /*num_exits*/, int64_t /*num_classes*/)
    const {}

std::unique_ptr<ExitPolicy> ExitPolicyType::make(
    double param,
    const FitTraces& traces) const {
  return fitted(traces)->make(param);
}

const std::vector<ExitPolicyType>& exit_policy_types() {
  // The registry: one line per policy.
  static const std::vector<ExitPolicyType> kTypes = {
      entry<MaxProbPolicy>(),
      entry<EntropyPolicy>(),
      entry<PatiencePolicy>(),
      budget_fit_entry(),
      ensemble_entry(),
  };
  return kTypes;
}

std::vector<std::string> exit_policy_names() {
  std::vector<std::string> names;
  for (const auto& type : exit_policy_types()) {
    names.push_back(type.name);
  }
  return names;
}

const ExitPolicyType& exit_policy_type(const std::string& name) {
  std::string known;
  for (const auto& type : exit_policy_types()) {
    if (type.name == name) {
      return type;
    }
    known += (known.empty() ? "" : ", ") + type.name;
  }
  fail("--policy must be one of ", known, ", got '", name, "'");
}

std::unique_ptr<ExitPolicy> make_exit_policy(
    const std::string& name,
    double param,
    const FitTraces& traces) {
  return exit_policy_type(name).make(param, traces);
}

std::vector<float> fit_budget_thresholds(const ExitTrace& val, double r) {
  check(
      std::isfinite(r) && r > 0,
      "budget-fit: the ratio r must be > 0, got ",
      r);
  check(val.num_samples > 0, "budget-fit: the validation trace is empty");
  const int64_t n = val.num_samples;
  const int64_t exits = val.num_exits;
  double total = 0;
  for (int64_t j = 1; j <= exits; ++j) {
    total += std::pow(r, static_cast<double>(j));
  }
  std::vector<float> thresholds;
  std::vector<int64_t> remaining(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    remaining[static_cast<size_t>(i)] = i;
  }
  std::vector<float> c;
  for (int64_t k = 0; k + 1 < exits; ++k) {
    const double share = std::pow(r, static_cast<double>(k + 1)) / total;
    const auto count =
        static_cast<int64_t>(std::floor(static_cast<double>(n) * share));
    c.clear();
    for (const int64_t i : remaining) {
      c.push_back(val.confidence(i, k));
    }
    std::sort(c.begin(), c.end(), std::greater<>());
    float t = std::numeric_limits<float>::infinity();
    if (count > 0 && !c.empty()) {
      t = c[static_cast<size_t>(
          std::min<int64_t>(count, static_cast<int64_t>(c.size())) - 1)];
    }
    thresholds.push_back(t);
    std::vector<int64_t> stay;
    for (const int64_t i : remaining) {
      if (!(val.confidence(i, k) >= t)) {
        stay.push_back(i);
      }
    }
    remaining.swap(stay);
  }
  return thresholds;
}

EnsembleWeights EnsembleWeights::zeros(int64_t num_exits, int64_t num_classes) {
  EnsembleWeights w;
  w.num_exits = num_exits;
  w.num_classes = num_classes;
  for (int64_t m = 0; m < num_exits; ++m) {
    w.w.emplace_back(static_cast<size_t>(m + 1), 0.0);
    w.b.emplace_back(static_cast<size_t>(num_classes), 0.0);
  }
  return w;
}

namespace {

// log max(p, floor), the ensemble's view of a probability.
double log_prob(float p) {
  return std::log(std::max(static_cast<double>(p), kEnsembleProbFloor));
}

// q = softmax(s), s[c] = b[c] + sum_{i<=m} a[i] * log_rows[i * K + c], with
// a[i] = exp(w[i]) / (m + 1) (all in double).
void ensemble_softmax(
    const std::vector<double>& a,
    const std::vector<double>& b,
    const double* log_rows,
    int64_t m,
    int64_t k,
    double* q) {
  double top = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < k; ++c) {
    double s = b[static_cast<size_t>(c)];
    for (int64_t i = 0; i <= m; ++i) {
      s += a[static_cast<size_t>(i)] * log_rows[i * k + c];
    }
    q[c] = s;
    top = std::max(top, s);
  }
  double sum = 0;
  for (int64_t c = 0; c < k; ++c) {
    q[c] = std::exp(q[c] - top);
    sum += q[c];
  }
  for (int64_t c = 0; c < k; ++c) {
    q[c] /= sum;
  }
}

// a[i] = exp(w[i]) / (m + 1) for exit m's weights w.
std::vector<double> ensemble_scales(const std::vector<double>& w) {
  std::vector<double> a(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    a[i] = std::exp(w[i]) / static_cast<double>(w.size());
  }
  return a;
}

} // namespace

void EnsembleWeights::combine(const float* rows, int64_t m, float* out) const {
  const auto k = static_cast<size_t>(num_classes);
  std::vector<double> log_rows(static_cast<size_t>(m + 1) * k);
  for (size_t j = 0; j < log_rows.size(); ++j) {
    log_rows[j] = log_prob(rows[j]);
  }
  std::vector<double> q(k);
  ensemble_softmax(
      ensemble_scales(w[static_cast<size_t>(m)]),
      b[static_cast<size_t>(m)],
      log_rows.data(),
      m,
      num_classes,
      q.data());
  for (size_t c = 0; c < k; ++c) {
    out[c] = static_cast<float>(q[c]);
  }
}

std::unique_ptr<ExitPolicy> make_ensemble_policy(
    double q,
    EnsembleWeights weights) {
  return std::make_unique<EnsemblePolicy>(
      q, std::make_shared<const EnsembleWeights>(std::move(weights)));
}

EnsembleWeights fit_ensemble(const ExitTrace& trace) {
  check(trace.num_samples > 0, "ensemble: the trace to fit on is empty");
  check(
      !trace.ood,
      "ensemble: an out-of-distribution trace (labels -1) cannot fit it");
  const int64_t n = trace.num_samples;
  const int64_t e_count = trace.num_exits;
  const int64_t k = trace.num_classes;
  // Full-batch Adam (Kingma and Ba's defaults but a larger step): the
  // problem is small (m+1+K parameters per exit) and smooth.
  constexpr int kSteps = 300;
  constexpr double kRate = 0.05;
  constexpr double kBeta1 = 0.9;
  constexpr double kBeta2 = 0.999;
  constexpr double kEps = 1e-8;
  EnsembleWeights out = EnsembleWeights::zeros(e_count, k);
  std::vector<double> log_probs(trace.probs.size());
  for (size_t j = 0; j < log_probs.size(); ++j) {
    log_probs[j] = log_prob(trace.probs[j]);
  }
  std::vector<double> q(static_cast<size_t>(k));
  for (int64_t m = 0; m < e_count; ++m) {
    std::vector<double>& w = out.w[static_cast<size_t>(m)];
    std::vector<double>& b = out.b[static_cast<size_t>(m)];
    const size_t nw = w.size();
    const size_t nb = b.size();
    std::vector<double> grad(nw + nb);
    std::vector<double> m1(nw + nb, 0.0);
    std::vector<double> m2(nw + nb, 0.0);
    for (int step = 1; step <= kSteps; ++step) {
      std::fill(grad.begin(), grad.end(), 0.0);
      const std::vector<double> a = ensemble_scales(w);
      for (int64_t s = 0; s < n; ++s) {
        const double* log_rows =
            log_probs.data() + static_cast<size_t>(s * e_count * k);
        ensemble_softmax(a, b, log_rows, m, k, q.data());
        const int64_t y = trace.labels[static_cast<size_t>(s)];
        for (int64_t c = 0; c < k; ++c) {
          // d(-log q_y) / d s_c = q_c - [c == y]; d s_c / d w_i =
          // a_i * log p_i[c]; d s_c / d b_c = 1.
          const double d = q[static_cast<size_t>(c)] - (c == y ? 1.0 : 0.0);
          grad[nw + static_cast<size_t>(c)] += d;
          for (int64_t i = 0; i <= m; ++i) {
            grad[static_cast<size_t>(i)] +=
                d * a[static_cast<size_t>(i)] * log_rows[i * k + c];
          }
        }
      }
      for (size_t j = 0; j < nw + nb; ++j) {
        const double g = grad[j] / static_cast<double>(n);
        m1[j] = kBeta1 * m1[j] + (1 - kBeta1) * g;
        m2[j] = kBeta2 * m2[j] + (1 - kBeta2) * g * g;
        const double mh = m1[j] / (1 - std::pow(kBeta1, step));
        const double vh = m2[j] / (1 - std::pow(kBeta2, step));
        double& param = j < nw ? w[j] : b[j - nw];
        param -= kRate * mh / (std::sqrt(vh) + kEps);
      }
    }
  }
  return out;
}

std::vector<double> paper_thresholds() {
  return {0.1, 0.15, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999};
}

std::vector<double> sweep_thresholds() {
  std::vector<double> grid = paper_thresholds();
  // i / 100.0 is correctly rounded, so it equals the literal 0.15 etc.
  for (int i = 1; i <= 99; ++i) {
    grid.push_back(i / 100.0);
  }
  for (int i = 991; i <= 999; ++i) {
    grid.push_back(i / 1000.0);
  }
  grid.push_back(0.9999);
  std::sort(grid.begin(), grid.end());
  std::vector<double> out;
  for (const double q : grid) {
    if (out.empty() || q - out.back() > kSameThreshold) {
      out.push_back(q);
    }
  }
  return out;
}

bool is_paper_threshold(double q) {
  for (const double p : paper_thresholds()) {
    if (std::fabs(p - q) <= kSameThreshold) {
      return true;
    }
  }
  return false;
}

std::vector<double> entropy_grid() {
  // Computed as i / 10^d (correctly rounded), not as 1 - q, so the values
  // print as the short decimals they are.
  std::vector<double> grid = {0.0001};
  for (int i = 1; i <= 9; ++i) {
    grid.push_back(i / 1000.0);
  }
  for (int i = 1; i <= 99; ++i) {
    grid.push_back(i / 100.0);
  }
  return grid;
}

} // namespace sdn::analysis
