#pragma once

// The exit trace: for every sample of a split and every exit of a network
// (ICs in order, then the final classifier), the softmax probabilities, plus
// the labels and each exit's cumulative cost. Every analysis is a pure
// function over traces. On disk: DIR/probs.npy, DIR/labels.npy, DIR/meta.json
// (docs/exit-trace.md).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::analysis {

/// Softmax outputs of every exit on every sample of one split.
struct ExitTrace {
  int64_t num_samples = 0; ///< N.
  int64_t num_exits = 0; ///< E: ICs then the final exit (1 for a CNN).
  int64_t num_classes = 0; ///< K.
  /// [N, E, K] row-major softmax probabilities.
  std::vector<float> probs;
  /// [N] true labels in [0, K); all -1 in an OOD trace (`ood`).
  std::vector<int64_t> labels;
  /// [E] cumulative cost of reaching each exit relative to the CNN's cost,
  /// counted by the paper's profiler (docs/architecture.md#counting-rules); the
  /// last is the whole SDN.
  std::vector<double> exit_cost;
  /// [E] or empty: the same with exact MACs (depthwise convs counted right).
  std::vector<double> exit_cost_exact;
  std::string split; ///< "test", "val", "train", "test_triggered", ...
  std::string checkpoint; ///< The checkpoint the trace was made from.
  /// Out-of-distribution images (meta.json "ood": true, written only
  /// then): the network's classes do not apply, every label is -1
  /// (docs/exit-trace.md#ood).
  bool ood = false;
  /// What the OOD images are ("uniform-noise", "inverted", ...; "" when not
  /// `ood`; meta.json "ood_source").
  std::string ood_source;
  /// Everything in meta.json (read_trace) or extra keys to write
  /// (write_trace; the fields above take precedence over these).
  nlohmann::json meta = nlohmann::json::object();

  /// Pointer to the K probabilities of sample `n` at exit `e`.
  const float* probs_at(int64_t n, int64_t e) const {
    return probs.data() + (n * num_exits + e) * num_classes;
  }
  /// Probability of class `k` for sample `n` at exit `e`.
  float prob(int64_t n, int64_t e, int64_t k) const {
    return probs_at(n, e)[k];
  }
  /// Index of the final exit (E - 1).
  int64_t final_exit() const {
    return num_exits - 1;
  }
  /// Number of internal classifiers (E - 1).
  int64_t num_ics() const {
    return num_exits - 1;
  }
  /// The argmax class of sample `n` at exit `e` (the first maximum on ties,
  /// as numpy.argmax and torch.argmax do).
  int64_t prediction(int64_t n, int64_t e) const;
  /// The maximum probability of sample `n` at exit `e`.
  float confidence(int64_t n, int64_t e) const;

  /// Throws sdn::Error naming `source` and the first inconsistency: shapes,
  /// labels out of range, negative / non-finite probabilities, rows not
  /// summing to 1 within kProbSumTolerance, exit costs of the wrong length
  /// or not positive and non-decreasing.
  void validate(const std::string& source) const;
};

/// How far a row's probabilities may sum from 1 (float32 softmax of up to
/// a few hundred classes sums to 1 within ~1e-6; 1e-3 also admits traces
/// saved at reduced precision).
constexpr double kProbSumTolerance = 1e-3;

/// Predictions and confidences of every (sample, exit), computed once so the
/// analyses do not rescan K classes per threshold.
struct TracePredictions {
  int64_t num_samples = 0; ///< N.
  int64_t num_exits = 0; ///< E.
  std::vector<int64_t> prediction; ///< [N, E] argmax (first max on ties).
  std::vector<float> confidence; ///< [N, E] max probability.
  std::vector<uint8_t> correct; ///< [N, E] 1 when the argmax is the label.

  /// Argmax of sample `n` at exit `e`.
  int64_t pred(int64_t n, int64_t e) const {
    return prediction[static_cast<size_t>(n * num_exits + e)];
  }
  /// Max probability of sample `n` at exit `e`.
  float conf(int64_t n, int64_t e) const {
    return confidence[static_cast<size_t>(n * num_exits + e)];
  }
  /// Whether exit `e` gets sample `n` right.
  bool is_correct(int64_t n, int64_t e) const {
    return correct[static_cast<size_t>(n * num_exits + e)] != 0;
  }
};

/// Argmax, max probability and correctness of every sample at every exit.
TracePredictions compute_predictions(const ExitTrace& trace);

/// Top-1 accuracy (percent) of each exit.
std::vector<double> exit_accuracy(const ExitTrace& trace);

/// Top-k accuracy (percent) of each exit: the label counts as found when
/// fewer than k classes rank above it, ranking by probability and then by
/// class index (so top-1 agrees with the first-max argmax). k >= K gives
/// 100 %.
std::vector<double> exit_topk_accuracy(const ExitTrace& trace, int64_t k);

/// Writes DIR/probs.npy ('<f4' [N,E,K]), DIR/labels.npy ('<i8' [N]) and
/// DIR/meta.json into a folder beside DIR, then swaps it in place of DIR
/// (util/files.h replace_folder): a reader, a kill or a full disk never
/// leaves a mix of two traces. Validates first; throws sdn::Error on a bad
/// trace, an I/O failure (naming the file), or a DIR that holds anything
/// but a trace's files (it would be deleted).
void write_trace(const std::string& dir, const ExitTrace& trace);

/// What write_trace checks of DIR before writing: throws sdn::Error when DIR
/// exists and is not a folder or holds anything but a trace's files. Lets a
/// command refuse its --out before the work that fills it.
void check_trace_destination(const std::string& dir);

/// Reads and validates the trace in `dir`. Throws sdn::Error naming the file
/// and the problem (missing file, bad header or dtype, shapes disagreeing
/// with each other or with meta.json, bad labels or probabilities).
ExitTrace read_trace(const std::string& dir);

} // namespace sdn::analysis
