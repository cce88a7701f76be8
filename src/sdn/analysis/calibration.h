#pragma once

// Calibration of each exit and of the early-exit output
// (docs/exit-trace.md#calibration): does a confidence of 0.8 mean right
// four times in five? Expected calibration error over equal-width bins
// (Guo et al., ICML 2017), the top-label Kolmogorov-Smirnov calibration
// error (Gupta et al., ICLR 2021), and temperature scaling per exit fitted
// on a validation trace. Plain C++: no LibTorch here.

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_trace.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace sdn::analysis {

/// The bins of the expected calibration error (the usual 15).
inline constexpr int64_t kCalibrationBins = 15;

/// One bin of a reliability diagram.
struct ReliabilityBin {
  double low = 0; ///< Confidence range [low, high); the last bin holds 1.
  double high = 0;
  int64_t count = 0; ///< Samples whose confidence falls here.
  double accuracy = 0; ///< Share of them that are right, in [0, 1] (0 if none).
  double confidence = 0; ///< Their mean confidence (0 if none).
};

/// The reliability diagram of N (confidence, correct) pairs: `bins`
/// equal-width bins over [0, 1], a confidence of exactly 1 in the last bin.
/// Throws sdn::Error when the sizes differ, `bins` < 1 or a confidence lies
/// outside [0, 1] or is NaN.
std::vector<ReliabilityBin> reliability_bins(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins = kCalibrationBins);

/// ECE = sum_b |B_b| / N * |acc(B_b) - mean confidence(B_b)|, in [0, 1],
/// over reliability_bins(); 0 for N = 0.
double expected_calibration_error(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct,
    int64_t bins = kCalibrationBins);

/// The top-label KS calibration error: the samples sorted by confidence
/// (ties in input order), the largest |sum_{i<=j} (c_i - correct_i)| / N
/// over prefixes j, in [0, 1]; 0 for N = 0. Throws as reliability_bins.
double ks_calibration_error(
    const std::vector<float>& confidence,
    const std::vector<uint8_t>& correct);

/// ECE and KS of the early-exit output at one max-prob threshold: each
/// sample's top probability and correctness at the exit that answered it.
struct EarlyExitCalibration {
  double threshold = 0; ///< q.
  double ece = 0;
  double ks = 0;
};

/// Calibration of a trace: per exit, and of early exit at each of
/// `thresholds` (max-prob, samples no IC takes answered per `rule`).
struct CalibrationResult {
  std::vector<double> ece; ///< [E].
  std::vector<double> ks; ///< [E].
  std::vector<std::vector<ReliabilityBin>> bins; ///< [E][kCalibrationBins].
  std::vector<EarlyExitCalibration> early_exit; ///< One per threshold.
};

/// Computes CalibrationResult on `trace`.
CalibrationResult analyze_calibration(
    const ExitTrace& trace,
    const std::vector<double>& thresholds,
    NoExitRule rule = NoExitRule::kMostConfident);

/// Temperature scaling (Guo et al. 2017) per exit: the T > 0 minimising the
/// mean negative log-likelihood of softmax(log p / T) on `val` (traces hold
/// probabilities, and log p is the logit up to a per-sample constant that
/// the softmax removes; probabilities are floored at 1e-30). Searched by
/// golden-section on log T in [ln 0.05, ln 20], to 1e-6; T = 1 when T = 1
/// does as well (within 1e-12: a flat objective). One per exit. Throws
/// sdn::Error for an empty or out-of-distribution trace.
std::vector<double> fit_temperatures(const ExitTrace& val);

/// `trace` with each exit's probabilities replaced by softmax(log p / T_e);
/// throws sdn::Error unless `temperatures` has E positive entries.
ExitTrace apply_temperatures(
    const ExitTrace& trace,
    const std::vector<double>& temperatures);

} // namespace sdn::analysis
