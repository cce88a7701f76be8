#pragma once

// `sdn explain`: Grad-CAM maps of every exit for chosen samples of a split
// (docs/exit-trace.md#grad-cam), written as a PNG grid, the raw maps and a
// JSON index; and the same grid for the HTML report.

#include "sdn/analysis/exit_trace.h"
#include "sdn/data/dataset.h"
#include "sdn/inference/grad_cam.h"
#include "sdn/report/html.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdn::app {

/// What `sdn explain` explains and where it writes.
struct ExplainOptions {
  std::string checkpoint; ///< Checkpoint directory.
  std::string split = "test"; ///< train, val or test.
  std::string data_dir; ///< Overrides the checkpoint's data directory.
  int64_t samples = 8; ///< How many samples (1 to 1000).
  /// "first": the split's first samples; "destructive": the first samples
  /// some IC gets right and the final exit gets wrong (the paper's figure).
  std::string select = "first";
  /// "predicted": each exit's map explains its own prediction; "true": the
  /// true class at every exit.
  std::string target = "predicted";
  std::string out; ///< Output folder (explain_files() only).
  std::string device = "cpu"; ///< cpu or cuda[:N].
  int64_t batch_size = 256; ///< Batch size of the scan for --select.

  /// Throws sdn::Error naming the first bad option.
  void validate() const;
};

/// The files `sdn explain` writes into its --out folder.
const std::vector<std::string>& explain_files();

/// What explain() found: the chosen samples and their maps.
struct Explanation {
  std::vector<int64_t> indices; ///< Positions in the split, ascending.
  data::Dataset images; ///< Those samples (uint8 [N, C, H, W], labels).
  data::DatasetInfo info; ///< The checkpoint's data set.
  inference::GradCam cam; ///< maps [N, E, H, W], targets, predictions...
  /// Samples of the split looked at to choose them: up to the last one
  /// chosen, or the whole split when fewer qualify.
  int64_t scanned = 0;
};

/// Loads the checkpoint and its data, chooses options.samples samples of
/// options.split (options.select; fewer when the split has fewer that
/// qualify) and computes their Grad-CAM maps (inference::grad_cam) on
/// options.device. Throws sdn::Error for bad options, a checkpoint without
/// ICs with --select destructive, or no sample that qualifies.
Explanation explain(const ExplainOptions& options);

/// Writes `explanation` into options.out (check_output_folder first, then a
/// folder beside it swapped in, util/files.h replace_folder):
/// grad_cam.png (one row per sample: the image, then every exit's map over
/// it), maps.npy ('<f4' [N, E, H, W]) and explain.json (the options, the
/// exits' names, and per sample its index, label, and per exit prediction,
/// target and confidence), written last.
void write_explanation(
    const ExplainOptions& options,
    const Explanation& explanation);

/// One PNG: a row per sample of `images` (uint8 [N, C, H, W]), the image
/// then one tile per exit of `maps` (float [N, E, H, W] in [0, 1]): the
/// map in a blue-to-red colour scale blended half and half with the image
/// in grey; every tile upscaled x`scale`, 2-pixel white gaps.
std::string grad_cam_png(
    const torch::Tensor& images,
    const torch::Tensor& maps,
    int64_t scale);

/// The HTML report's Grad-CAM grid for `trace`: up to `count` samples that
/// some IC gets right and the final exit wrong (else the first samples),
/// one tile each (grad_cam_png's row), maps of each exit's prediction,
/// computed with the network in `checkpoint` (the one that made the trace:
/// trace.checkpoint as the trace names it) on `images`
/// (app::trace_images). nullopt, with `why` set, when the checkpoint cannot
/// be loaded here or does not match the trace; never throws for that.
std::optional<report::ImageGrid> grad_cam_grid(
    const analysis::ExitTrace& trace,
    const std::string& checkpoint,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t count,
    std::string& why);

/// Appends grad_cam_grid(trace, checkpoint, images, info, count) to
/// `grids`; when it cannot be made, prints "warning: no Grad-CAM grid: WHY"
/// on stderr instead. Nothing for count 0.
void append_grad_cam_grid(
    std::vector<report::ImageGrid>& grids,
    const analysis::ExitTrace& trace,
    const std::string& checkpoint,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t count);

} // namespace sdn::app
