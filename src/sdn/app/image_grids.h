#pragma once

#include "sdn/analysis/exit_trace.h"
#include "sdn/data/dataset.h"
#include "sdn/report/html.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdn::app {

/// Image grids for the HTML page, from a trace and the images it was made
/// from: per exit, samples first classified correctly there (the paper's
/// figure of increasingly complex inputs), and samples only IC1 gets right.
std::vector<report::ImageGrid> make_image_grids(
    const analysis::ExitTrace& trace,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t per_grid);

/// Reloads the images a trace was made from, using its provenance
/// (inference::read_provenance: data options, max_samples, trigger).
/// nullopt (with `why` set) when they cannot be read here (no provenance,
/// the data moved); never throws for missing data.
std::optional<data::Dataset> trace_images(
    const analysis::ExitTrace& trace,
    data::DatasetInfo& info,
    std::string& why);

/// The name of class `k` (info.class_names), or the number when it has none.
std::string class_name(const data::DatasetInfo& info, int64_t k);

/// One tile: the image (upscaled x`scale`) as PNG bytes.
std::string image_png(
    const data::Dataset& images,
    int64_t index,
    int64_t scale);

} // namespace sdn::app
