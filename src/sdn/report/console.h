#pragma once

// Plain-text tables of a report built by report/report.h, for a terminal.

#include "sdn/report/report_types.h"

#include <ostream>

namespace sdn::report {

/// Prints `report` (what build_report returns) as readable tables:
/// per-exit accuracy and cost, the early-exit sweep on the paper's grid, the
/// budget table (N., <=25 %, <=50 %, <=75 %, Max), overthinking, confusion
/// and backdoor sections. Sections a report lacks are skipped.
void print_report(std::ostream& out, const Report& report);

} // namespace sdn::report
