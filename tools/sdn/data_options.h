#pragma once

#include "sdn/data/dataset.h"

#include <CLI/CLI.hpp>

namespace sdn::cli {

/// Adds the data-set options (--dataset, --data-dir, --val-size,
/// --train-subset, --classes, --data-seed, --synthetic-*, and for image
/// folders --image-side, --channels, --mean, --std) to `sub`, bound to
/// `options`, and
/// turns on the decoding progress bar. Shared by every subcommand that loads
/// data.
void add_data_options(CLI::App* sub, data::DataOptions& options);

/// Throws sdn::Error when a data option given to `sub` has no effect on the
/// data set `options.name`: --synthetic-* without --dataset synthetic,
/// --data-dir with it (the synthetic data lives in memory), the image-folder
/// options without --dataset folder, --val-size with a folder that has
/// val/ (its own validation split), --data-seed when nothing is drawn at
/// random (no carved validation split, no --train-subset, not synthetic).
void check_data_options(const CLI::App& sub, const data::DataOptions& options);

} // namespace sdn::cli
