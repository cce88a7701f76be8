#include "sdn/analysis/exit_policy.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
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
  static std::vector<double> grid() {
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
  static std::vector<double> grid() {
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

template <typename Policy>
ExitPolicyType entry() {
  return {
      Policy::kName,
      Policy::kSummary,
      Policy::kRange,
      Policy::grid(),
      [](double param) -> std::unique_ptr<ExitPolicy> {
        return std::make_unique<Policy>(param);
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

ExitPolicy::ExitPolicy(std::string name, double param, ParamRange range)
    : name_(std::move(name)), param_(param) {
  check(
      range.contains(param),
      "--param of the ",
      name_,
      " policy must be in [",
      range.low,
      ", ",
      range.high,
      "], got ",
      param);
}

const std::vector<ExitPolicyType>& exit_policy_types() {
  // The registry: one line per policy.
  static const std::vector<ExitPolicyType> kTypes = {
      entry<MaxProbPolicy>(),
      entry<EntropyPolicy>(),
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
    double param) {
  return exit_policy_type(name).make(param);
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
