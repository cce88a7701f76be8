#pragma once

// Exit policies: small strategy objects that decide, from one sample's
// softmax outputs at the exits it has reached, whether it leaves at the
// current internal classifier. The same objects drive trace simulation
// (analysis/early_exit.h) and real early exit (inference/early_exit.h), so
// both paths decide alike. Plain C++: no LibTorch here.
//
// A new policy is one class (in exit_policy.cpp, one line in its registry)
// and one entry in tests/unit/analysis/exit_policy_test.cpp; the real-exit
// integration test runs every registered policy.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace sdn::analysis {

/// One sample's float32 softmax probabilities at the exits it has reached,
/// as a policy sees them when deciding at exit `exit`.
struct ExitRows {
  /// [count, K] row-major: the rows of exits exit-count+1 .. exit, in order
  /// (the last row is the deciding exit's).
  const float* probs = nullptr;
  int64_t count = 0; ///< Rows held: >= min(ExitPolicy::history(), exit + 1).
  int64_t exit = 0; ///< The deciding IC, 0-based (0 .. num_exits-2).
  int64_t num_exits = 0; ///< E: ICs then the final exit.
  int64_t num_classes = 0; ///< K.
  /// The deciding exit's top probability, max_probability(current(), K),
  /// and its first argmax: both callers have them at hand, so policies need
  /// not rescan K classes.
  float top_prob = 0;
  int64_t top_class = 0; ///< In [0, K).

  /// The K probabilities at exit `e`, exit-count < e <= exit.
  const float* at(int64_t e) const {
    return probs + (e - (exit - count + 1)) * num_classes;
  }
  /// The K probabilities at the deciding exit.
  const float* current() const {
    return probs + (count - 1) * num_classes;
  }
};

/// The closed range [low, high] of a policy's parameter.
struct ParamRange {
  double low = 0;
  double high = 0;
  /// True when low <= x <= high (false for NaN).
  bool contains(double x) const {
    return x >= low && x <= high;
  }
};

/// Decides at each IC whether a sample leaves the network there. A policy
/// is made with its one scalar parameter (checked against its range) and
/// is immutable; decide with exits().
class ExitPolicy {
 public:
  /// history() of a policy that reads every row since exit 0.
  static constexpr int64_t kAllExits = std::numeric_limits<int64_t>::max();

  virtual ~ExitPolicy() = default;

  /// The registry name, e.g. "max-prob".
  const std::string& name() const {
    return name_;
  }
  /// The parameter this policy was made with.
  double param() const {
    return param_;
  }
  /// How many rows, the deciding exit's and those just before it, exits()
  /// reads: 1 (the default) = the deciding exit's only; kAllExits = every
  /// exit's since exit 0. Callers pass at least min(history(), exit + 1).
  virtual int64_t history() const {
    return 1;
  }
  /// True when the sample leaves at `rows.exit`.
  virtual bool exits(const ExitRows& rows) const = 0;
  /// A short description with the parameter, e.g. "max-softmax >= 0.9".
  virtual std::string describe() const = 0;

 protected:
  /// Throws sdn::Error naming `--param`, the policy, `range` and `param`
  /// unless range.contains(param).
  ExitPolicy(std::string name, double param, ParamRange range);

 private:
  std::string name_;
  double param_;
};

/// A registered policy: what its parameter means, its range and default
/// sweep grid, and how to make one.
struct ExitPolicyType {
  std::string name; ///< "max-prob", "entropy".
  std::string summary; ///< One line for --help: the rule and the parameter.
  ParamRange range; ///< Valid parameters.
  /// Parameters a sweep tries by default, ascending, inside `range`.
  std::vector<double> grid;
  /// Makes the policy at `param`; throws sdn::Error when out of range.
  std::unique_ptr<ExitPolicy> (*make)(double param) = nullptr;
};

/// The top probability of a row of K = `num_classes` (>= 1) float32
/// probabilities (the value at the first maximum, as
/// TracePredictions::confidence).
float max_probability(const float* row, int64_t num_classes);

/// The normalised entropy -sum_k p_k ln p_k / ln K of a row of K =
/// `num_classes` probabilities, in [0, 1]: 0 ln 0 = 0, summed in double,
/// clamped to 1 (a float32 uniform row may round above it); 0 when K = 1.
double normalized_entropy(const float* row, int64_t num_classes);

/// The name of the paper's policy (docs/exit-trace.md#early-exit), the default
/// everywhere.
inline constexpr const char* kMaxProbPolicy = "max-prob";

/// Every registered policy, in registry order (max-prob first):
/// * "max-prob" (docs/exit-trace.md#early-exit; the original's early-exit
/// rule): exit at IC e when
///   c_e = max_k p_k >= q, compared in float32 (q cast to float, as PyTorch
///   compares a float32 tensor with a Python number: a confidence of 0.9f
///   exits at q = 0.9). q in [0, 1]; grid: sweep_thresholds().
/// * "entropy" (beyond the paper; BranchyNet's entropy rule, Teerapittayanon
///   et al. 2016, normalised so one range fits every K):
///   exit at IC e when the normalised entropy u_e = -sum_k p_k ln p_k / ln K
///   (normalized_entropy) is <= h, compared in double.
///   h in [0, 1]; grid: entropy_grid().
const std::vector<ExitPolicyType>& exit_policy_types();

/// The registered names, in registry order.
std::vector<std::string> exit_policy_names();

/// The registered policy called `name`; throws sdn::Error naming `--policy`
/// and listing the known names otherwise.
const ExitPolicyType& exit_policy_type(const std::string& name);

/// Makes policy `name` at `param`; throws sdn::Error for an unknown name or
/// a parameter out of the policy's range.
std::unique_ptr<ExitPolicy> make_exit_policy(
    const std::string& name,
    double param);

/// The thresholds the original script sweeps (max-prob):
/// {0.1, 0.15, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999}.
std::vector<double> paper_thresholds();

/// max-prob's grid: the paper's united with a fine grid (0.01..0.99 in steps
/// of 0.01, 0.991..0.999 in steps of 0.001, and 0.9999), sorted, without
/// duplicates (109 values).
std::vector<double> sweep_thresholds();

/// True when `q` is one of paper_thresholds().
bool is_paper_threshold(double q);

/// entropy's grid, the mirror of sweep_thresholds() (confident outputs have
/// normalised entropies near 0): 0.0001, 0.001..0.009 in steps of 0.001,
/// 0.01..0.99 in steps of 0.01 (109 values, ascending).
std::vector<double> entropy_grid();

} // namespace sdn::analysis
