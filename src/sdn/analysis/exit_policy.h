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

#include "sdn/analysis/exit_trace.h"

#include <cmath>
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
  /// The deciding IC, 0-based (0 .. num_exits-2); for combine() any exit
  /// (0 .. num_exits-1).
  int64_t exit = 0;
  int64_t num_exits = 0; ///< E: ICs then the final exit.
  int64_t num_classes = 0; ///< K.
  /// The top probability of the output the sample would leave with, and
  /// its first argmax: of current() (max_probability), or of the policy's
  /// combine() when it combines(). Both callers have them at hand, so
  /// policies need not rescan K classes.
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
  bool integer = false; ///< Only whole numbers (patience's t).
  /// True when low <= x <= high (false for NaN), and x is whole when
  /// `integer`.
  bool contains(double x) const {
    return x >= low && x <= high && (!integer || x == std::floor(x));
  }
  /// Throws sdn::Error naming `--param`, `policy`, the range and `x` unless
  /// contains(x).
  void check(const std::string& policy, double x) const;
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

  /// True when the policy answers with its own output, combine(), instead
  /// of each exit's softmax (ensemble); such a policy reads every exit
  /// (history() = kAllExits).
  virtual bool combines() const {
    return false;
  }
  /// The K probabilities the sample leaves with at rows.exit (any exit,
  /// the final one too), from its rows of exits 0..rows.exit, into `out`.
  /// Called only when combines(); the default copies current(). Must not
  /// depend on the parameter: sweeps compute the outputs once.
  virtual void combine(const ExitRows& rows, float* out) const;

  /// Throws sdn::Error when the policy was fitted for another network
  /// shape (per-exit thresholds or weights of another E or K). Callers
  /// check before deciding.
  virtual void check_network(int64_t num_exits, int64_t num_classes) const;

 protected:
  /// Throws sdn::Error naming `--param`, the policy, `range` and `param`
  /// unless range.contains(param).
  ExitPolicy(std::string name, double param, ParamRange range);

 private:
  std::string name_;
  double param_;
};

/// The traces a policy may be fitted on (each may be null).
struct FitTraces {
  const ExitTrace* val = nullptr; ///< A validation trace (--val-trace).
  const ExitTrace* train = nullptr; ///< A training trace (--train-trace).
};

/// What a registered policy learns from traces before it decides.
enum class PolicyFit {
  kNone, ///< Nothing: the parameter says it all.
  kValidation, ///< From FitTraces::val (budget-fit's thresholds).
  /// From FitTraces::train, or val when there is no training trace
  /// (ensemble's weights).
  kTraining,
};

/// How a budget picks the parameter from a selection sweep.
enum class BudgetPick {
  /// The best accuracy among the parameters within the budget (the paper's
  /// table, pick_param).
  kBestAccuracy,
  /// The largest cost within the budget (MSDNet's budgeted
  /// classification: the r that spends most of the budget).
  kLargestCost,
};

/// A registered policy after fitting: makes it at any parameter. Fitting
/// once serves a whole sweep.
class PolicyMaker {
 public:
  virtual ~PolicyMaker() = default;
  /// The policy at `param`; throws sdn::Error when out of range.
  virtual std::unique_ptr<ExitPolicy> make(double param) const = 0;
};

/// A registered policy: what its parameter means, its range and sweep
/// grid, what it is fitted on, and how to make one.
struct ExitPolicyType {
  std::string name; ///< "max-prob", "entropy", ...
  std::string summary; ///< One line for --help: the rule and the parameter.
  ParamRange range; ///< Valid parameters.
  /// The parameters a sweep tries for a network of `num_exits` exits,
  /// ascending, inside `range` (patience's depend on E).
  std::vector<double> (*grid)(int64_t num_exits) = nullptr;
  PolicyFit fit = PolicyFit::kNone;
  BudgetPick budget_pick = BudgetPick::kBestAccuracy;
  /// Fits on `traces` (as `fit` says) and returns the maker; throws
  /// sdn::Error naming the option of a trace it needs and lacks.
  std::unique_ptr<PolicyMaker> (*fitted)(const FitTraces& traces) = nullptr;

  /// fitted(traces)->make(param).
  std::unique_ptr<ExitPolicy> make(double param, const FitTraces& traces = {})
      const;
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

/// The smallest probability whose logarithm the ensemble takes (float32's
/// smallest normal): a softmax output that underflowed to 0 counts as this.
inline constexpr double kEnsembleProbFloor = 1.17549435e-38;

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
/// * "patience" (PABEE, Zhou et al., NeurIPS 2020): with patience t >= 1,
///   exit at the first IC e (0-based) with e >= t whose first-argmax class
///   equals that of each of the t exits before it (the last t+1 exits
///   agree). t a whole number >= 1; grid: 1 .. E-2.
/// * "budget-fit" (MSDNet's budgeted batch classification, Huang et al.,
///   ICLR 2018): per-IC thresholds T_k fitted on the validation trace for a
///   ratio r; exit at IC k when c_k >= T_k (float32), see
///   fit_budget_thresholds(). r in [0.05, 1.95]; grid: 1/20 .. 39/20; a
///   budget picks the r whose validation cost is the largest within it.
/// * "ensemble" (Zero Time Waste's geometric ensemble, Wolczyk et al.,
///   NeurIPS 2021): exit m answers with q_m proportional to
///   exp(b_m) * prod_{i<=m} p_i^(exp(w_{m,i}) / m) (fit_ensemble(), on the
///   training trace, else the validation trace); exit at IC m when
///   max_k q_m[k] >= q (float32). q in [0, 1]; grid: sweep_thresholds().
const std::vector<ExitPolicyType>& exit_policy_types();

/// The registered names, in registry order.
std::vector<std::string> exit_policy_names();

/// The registered policy called `name`; throws sdn::Error naming `--policy`
/// and listing the known names otherwise.
const ExitPolicyType& exit_policy_type(const std::string& name);

/// Makes policy `name` at `param`, fitted on `traces` when it needs them;
/// throws sdn::Error for an unknown name, a parameter out of the policy's
/// range, or a missing trace.
std::unique_ptr<ExitPolicy> make_exit_policy(
    const std::string& name,
    double param,
    const FitTraces& traces = {});

/// budget-fit's thresholds for ratio `r` (> 0) on `val`: one per IC (E-1
/// entries). The target share of samples leaving at exit k = 1..E is
/// pi_k = r^k / sum_{j=1..E} r^j. Going through the ICs in order, among the
/// N validation samples not yet exited, sorted by confidence c_k
/// descending, T_k is the c_k of the floor(N * pi_k)-th (1-based; the last
/// one when fewer remain; +infinity, nobody, when floor(N * pi_k) = 0);
/// those with c_k >= T_k exit there.
std::vector<float> fit_budget_thresholds(const ExitTrace& val, double r);

/// The geometric ensemble's fitted parameters for a network of E exits and
/// K classes: for exit m = 0..E-1, m+1 weights w (for exits 0..m) and K
/// biases b.
struct EnsembleWeights {
  int64_t num_exits = 0; ///< E.
  int64_t num_classes = 0; ///< K.
  std::vector<std::vector<double>> w; ///< [E][m+1]
  std::vector<std::vector<double>> b; ///< [E][K]

  /// All zeros: exit m's output is the normalised geometric mean of
  /// p_0..p_m (exit 0's is p_0 itself).
  static EnsembleWeights zeros(int64_t num_exits, int64_t num_classes);
  /// q_m for a sample's rows of exits 0..m (rows[i] = its K probabilities
  /// at exit i), into `out` (K floats, summing to 1).
  void combine(const float* rows, int64_t m, float* out) const;
};

/// The ensemble policy at threshold `q` with the given weights (what
/// make_exit_policy("ensemble", q, traces) makes after fit_ensemble).
/// Throws sdn::Error when q is outside [0, 1].
std::unique_ptr<ExitPolicy> make_ensemble_policy(
    double q,
    EnsembleWeights weights);

/// Fits every exit's weights and biases by minimising the mean
/// cross-entropy of q_m on `trace` (full-batch Adam from zeros, a fixed
/// number of steps: deterministic). Throws sdn::Error for an empty trace.
EnsembleWeights fit_ensemble(const ExitTrace& trace);

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
