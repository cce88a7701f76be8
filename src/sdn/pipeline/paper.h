#pragma once

#include "sdn/data/dataset.h"
#include "sdn/report/report_types.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace sdn::pipeline {

/// The paper's whole pipeline on one data set and architecture: train a CNN,
/// convert it by IC-only training, train an SDN from the CNN's
/// initialisation, trace all three on the validation and test splits (and
/// the SDNs on two out-of-distribution sources), and report: the paper's
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

  // Training. The recipe's shape (SGD 0.1 / Adam 1e-3, the tau ramp over the
  // run's epochs) shrunk to minutes; deviations are named in docs/results.md.
  int64_t batch_size = 128;
  int64_t cnn_epochs = 3; ///< Also the SDN-training epochs.
  int64_t ic_epochs = 3;
  double lr = 0.05; ///< CNN and SDN training (paper: 0.1).
  int64_t warmup_steps = 80; ///< Linear lr warm-up (paper: none).
  std::vector<int64_t> milestones = {3}; ///< lr x0.1 (CNN, SDN).
  double ic_lr = 1e-3; ///< IC-only (the paper's).
  std::vector<int64_t> ic_milestones = {3}; ///< lr x0.1 (IC-only).

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
/// "reports": {"ic_only", "sdn"}: every figure of the runs' reports as mean,
/// sd, min, max}, "ood"), and the paper's tables on stdout with every cell
/// as mean +- sd (min - max) and each claim as "supported in K of N".
/// Throws sdn::Error for seeds that repeat, or an OUT holding anything
/// else.
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

/// Each of the paper's claims against a run's two reports (IC-only, SDN).
std::vector<Claim> assess_claims(
    const report::Report& ic_only,
    const report::Report& sdn);

} // namespace sdn::pipeline
