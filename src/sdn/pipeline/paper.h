#pragma once

#include "sdn/checkpoint/config.h"
#include "sdn/data/dataset.h"
#include "sdn/report/report_types.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sdn::pipeline {

/// One way to give the pipeline's CNN internal classifiers (sdn paper
/// --regimes; docs/results.md#training-regimes). Each is trained from the
/// same trained CNN (IC-only, mixed) or the same initial weights (SDN
/// training: the CNN's seed).
struct Regime {
  /// As given: "ic-only" (the original: frozen backbone in train mode),
  /// "ic-only-clean" (backbone in eval mode), "sdn" (SDN training, the
  /// paper's), "mixed" (Kubaty et al., 2024: fresh ICs on the trained CNN,
  /// everything jointly, equal weights), each optionally with "+distill"
  /// (self-distillation from the final exit, PaperOptions::distill).
  std::string name;
  /// Its folder, trace and report name: '-' and '+' as '_' ("ic_only",
  /// "mixed_distill").
  std::string key;
  /// For tables: "IC-only", "IC-only, clean", "SDN training", "Mixed", each
  /// with " + distillation".
  std::string title;
  checkpoint::Mode mode = checkpoint::Mode::kSdn;
  bool clean = false; ///< IC-only with the backbone in eval mode.
  bool distill = false;
};

/// Parses a regime's name (Regime::name); throws sdn::Error naming
/// --regimes and the names it accepts.
Regime parse_regime(const std::string& name);

/// The paper's whole pipeline on one data set and architecture: train a CNN,
/// give it ICs in each regime (by default the paper's two: convert it by
/// IC-only training, train an SDN from the CNN's initialisation), trace
/// them all on the validation and test splits (and the networks with ICs on
/// two out-of-distribution sources), and report: the paper's
/// analyses, every exit policy, calibration, OOD detection and Grad-CAM. Every
/// stage resumes: a rerun skips what is done and continues an interrupted
/// training run from its last epoch.
struct PaperOptions {
  PaperOptions() {
    data.train_subset = 10000; // of Fashion-MNIST's 55000 after validation
  }
  std::string arch = "resnet56";
  data::DataOptions data; ///< Fashion-MNIST by default.
  std::string out = "runs/demo";
  std::string device = "cpu";
  uint64_t seed = 1221;
  /// --seeds: run the pipeline once per seed (as `seed`) into
  /// OUT/seed-N/ and aggregate (run_paper_seeds); empty: one run.
  std::vector<uint64_t> seeds;
  /// --aggregate-only: with `seeds`, train and trace nothing; aggregate the
  /// finished runs' OUT/seed-N/summary.json and report-KEY.json files
  /// (results kept without their checkpoints).
  bool aggregate_only = false;
  /// --regimes: the networks with ICs the pipeline trains, traces, reports
  /// and checks the claims on (parse_regime's names), side by side.
  std::vector<std::string> regimes = {"ic-only", "sdn"};

  // Training. The recipe's shape (SGD 0.1 / Adam 1e-3, the tau ramp over the
  // run's epochs) shrunk to minutes; deviations are named in docs/results.md.
  int64_t batch_size = 128;
  int64_t cnn_epochs = 3; ///< Also the SDN-training epochs.
  int64_t ic_epochs = 3;
  double lr = 0.05; ///< CNN and SDN training (paper: 0.1).
  int64_t warmup_steps = 80; ///< Linear lr warm-up (paper: none).
  std::vector<int64_t> milestones = {3}; ///< lr x0.1 (CNN, SDN).
  /// CNN, SDN and mixed training: step (x0.1 at `milestones`, the
  /// paper's) or cosine. IC-only keeps its step schedule.
  checkpoint::LrSchedule lr_schedule = checkpoint::LrSchedule::kStep;
  double ic_lr = 1e-3; ///< IC-only (the paper's).
  std::vector<int64_t> ic_milestones = {3}; ///< lr x0.1 (IC-only).
  /// Mixed training's epochs and lr (unset: cnn_epochs, lr); the rest as
  /// SDN training's.
  std::optional<int64_t> mixed_epochs;
  std::optional<double> mixed_lr;
  /// The "+distill" regimes' weight lambda and temperature T (the trainer's
  /// lambda T^2 mean_i KL(final || IC_i)). lambda 0.5 at T 3: BYOT's
  /// (Zhang et al., 2019) alpha 0.3 at T 3, (1 - alpha) CE + alpha KL, in
  /// this additive form (alpha / (1 - alpha) = 0.43, rounded); not tuned.
  double distill = 0.5;
  double distill_temperature = 3;

  // Evaluation.
  int64_t test_samples = 0; ///< Trace only the first N test samples (0: all).
  int64_t train_trace_samples = 5000; ///< Train samples for confusion stats.
  int64_t grid_images = 8; ///< Images per exit in the page's grids.
  /// Images per out-of-distribution trace (inverted test images, Gaussian
  /// noise; 0: as many as the test split).
  int64_t ood_samples = 5000;

  /// The --quick preset: a few minutes on 2 cores. Options named in
  /// `given` (e.g. "--epochs", as the user set them) keep their value.
  void apply_quick(const std::set<std::string>& given = {});
  /// The option names apply_quick() sets.
  static const std::vector<std::string>& quick_options();
  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
  /// parse_regime of each of `regimes`, in order.
  std::vector<Regime> parsed_regimes() const;
};

/// What a run produced.
struct PaperResult {
  nlohmann::json summary; ///< Also in OUT/summary.json.
  std::string html; ///< OUT/report.html.
};

/// Runs (or resumes) the pipeline, printing the paper's tables to stdout and
/// progress to stderr. With options.seeds, run_paper_seeds.
PaperResult run_paper(const PaperOptions& options);

/// The pipeline once per seed of options.seeds, each into OUT/seed-N/ with
/// `seed` N (the data split stays that of --data-seed: the seeds vary the
/// initialisation, the order and the augmentation), each resumable as a
/// single run is; then the spread over them (pipeline/aggregate.h):
/// OUT/aggregate.json ({"seeds", "runs", "claims": verdicts counted,
/// "reports": {regime key: every figure of the runs' reports as mean,
/// sd, min, max}, "ood"), and the paper's tables on stdout with every cell
/// as mean +- sd (min - max) and each claim as "supported in K of N".
/// With aggregate_only, the runs are read, not run: each OUT/seed-N/
/// summary.json must exist and be of the same arch, data set and regimes.
/// Throws sdn::Error for seeds that repeat, a missing or other run with
/// aggregate_only, or an OUT holding anything else.
PaperResult run_paper_seeds(const PaperOptions& options);

/// One of the paper's claims checked on a run (summary.json's "claims").
struct Claim {
  std::string claim; ///< What the paper says.
  std::string measured; ///< What this run measured.
  std::string verdict; ///< "supported", "not supported" or "n/a".
};

/// {"claim", "measured", "verdict"}.
void to_json(nlohmann::json& j, const Claim& value);
/// Reads what to_json writes; throws sdn::Error naming a bad key.
void from_json(const nlohmann::json& j, Claim& value);

/// Each of the paper's claims against a run's reports, one per regime
/// (`reports` by Regime::key): the claims about one network (cost halved
/// at 1 point, destructive share about half, confusion) for every regime,
/// in `regimes` order; SDN training against IC-only where both were run.
/// Throws sdn::Error when a regime has no report.
std::vector<Claim> assess_claims(
    const std::vector<Regime>& regimes,
    const std::map<std::string, report::Report>& reports);

} // namespace sdn::pipeline
