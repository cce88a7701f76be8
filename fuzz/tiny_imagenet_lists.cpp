// Fuzz target: Tiny ImageNet's wnids.txt and val/val_annotations.txt
// (data::parse_wnids, data::parse_val_annotations). The input holds both
// files, separated by sdn::fuzz::kFileSeparator; the annotations are parsed
// against the wnids of the first.
#include "sdn/data/tiny_imagenet.h"

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto files = sdn::fuzz::split_files(data, size, 2);
  sdn::fuzz::expect_clean("parse_wnids", [&] {
    const auto wnids = sdn::data::parse_wnids(files[0], "wnids.txt");
    const auto annotations = sdn::data::parse_val_annotations(
        files[1], wnids, "val_annotations.txt");
    for (const auto& a : annotations) {
      // Every label must index the wnids (the reader uses it so).
      if (a.label < 0 || a.label >= static_cast<int64_t>(wnids.size()) ||
          a.file.empty()) {
        std::abort();
      }
    }
  });
  return 0;
}
