// Fuzz target: an exit-trace folder (analysis::read_trace) and the
// provenance in its meta.json (inference::read_provenance). The input holds
// meta.json, probs.npy and labels.npy, separated by
// sdn::fuzz::kFileSeparator.
#include "sdn/analysis/exit_trace.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/files.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto files = sdn::fuzz::split_files(data, size, 3);
  const std::string meta =
      sdn::fuzz::write_scratch("trace/meta.json", files[0]);
  sdn::fuzz::write_scratch("trace/probs.npy", files[1]);
  sdn::fuzz::write_scratch("trace/labels.npy", files[2]);
  const std::string dir = sdn::fuzz::scratch_dir() + "/trace";
  sdn::fuzz::expect_clean("read_trace", [&] {
    const auto trace = sdn::analysis::read_trace(dir);
    // A trace read_trace accepts must be safe for every analysis.
    sdn::analysis::compute_predictions(trace);
    sdn::analysis::exit_topk_accuracy(trace, 2);
  });
  // As `sdn report` reads it: whatever the trace's meta.json holds.
  sdn::fuzz::expect_clean("read_provenance", [&] {
    sdn::inference::read_provenance(sdn::read_json(meta), meta);
  });
  return 0;
}
