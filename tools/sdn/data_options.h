#pragma once

#include "sdn/data/dataset.h"

#include <CLI/CLI.hpp>

namespace sdn::cli {

/// Adds the data-set options (--dataset, --data-dir, --val-size,
/// --train-subset, --seed, --synthetic-*) to `sub`, bound to `options`, and
/// turns on the decoding progress bar. Shared by every subcommand that loads
/// data.
void add_data_options(CLI::App* sub, data::DataOptions& options);

} // namespace sdn::cli
