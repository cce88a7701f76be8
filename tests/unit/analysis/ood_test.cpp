// OOD detection against hand-computed AUROCs, and what the trace reader and
// writer accept for OOD traces.
#include "sdn/analysis/ood.h"
#include "sdn/util/error.h"

#include "error_message.h"
#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace sdn::analysis;

// An OOD trace of trace A's network: two samples, confidences (IC1, IC2,
// final) .5/.4/.5 and .45/.9/.4.
ExitTrace ood_for_a() {
  ExitTrace t = fixtures::make_trace(
      {{{0.5F, 0.25F, 0.25F}, {0.4F, 0.3F, 0.3F}, {0.5F, 0.3F, 0.2F}},
       {{0.45F, 0.35F, 0.2F}, {0.05F, 0.9F, 0.05F}, {0.4F, 0.3F, 0.3F}}},
      {-1, -1},
      {0.3, 0.6, 1.05});
  t.ood = true;
  t.ood_source = "uniform-noise";
  return t;
}

TEST(Ood, AurocPerExitCountsTiesAsHalf) {
  // Trace A's confidences: IC1 .9 .5 .4 .6; OOD .5 .45. Pairs (in > ood):
  // .9: 2, .5: 1 + tie .5 -> 1.5, .4: 0, .6: 2 -> 5.5 / 8.
  const OodResult r = analyze_ood(fixtures::trace_a(), ood_for_a(), {});
  ASSERT_EQ(r.auroc.size(), 3u);
  EXPECT_DOUBLE_EQ(r.auroc[0], 5.5 / 8);
  // IC2: A .8 .7 .4 .35; OOD .4 .9: .8: 1, .7: 1, .4: tie .5, .35: 0 ->
  // 2.5 / 8.
  EXPECT_DOUBLE_EQ(r.auroc[1], 2.5 / 8);
  EXPECT_TRUE(r.early_exit.empty());
  EXPECT_GE(r.confusion_auroc, 0.0);
  EXPECT_LE(r.confusion_auroc, 1.0);
}

TEST(Ood, EarlyExitScoresTheAnsweringExit) {
  // q = 1 with the final rule: nobody leaves early and the final exit
  // answers everyone, so early exit's AUROC is the final exit's.
  const OodResult r =
      analyze_ood(fixtures::trace_a(), ood_for_a(), {1.0}, NoExitRule::kFinal);
  ASSERT_EQ(r.early_exit.size(), 1u);
  // With the final rule and nobody leaving, the final exit's AUROC.
  EXPECT_DOUBLE_EQ(r.early_exit[0].auroc, r.auroc[2]);
  EXPECT_DOUBLE_EQ(r.early_exit[0].threshold, 1.0);
}

TEST(Ood, RefusesTracesOfTheWrongKind) {
  const ExitTrace a = fixtures::trace_a();
  EXPECT_NE(
      sdn::testing::error_message([&] {
        analyze_ood(a, a, {});
      }).find("not an out-of-distribution trace"),
      std::string::npos);
  ExitTrace other = ood_for_a();
  other.num_classes = 2;
  EXPECT_THROW(analyze_ood(a, other, {}), sdn::Error);
}

TEST(Ood, TracesKeepTheirFlagAndOnlyThemHoldMinusOne) {
  const std::string dir = fixtures::temp_dir("ood_trace");
  write_trace(dir, ood_for_a());
  const ExitTrace back = read_trace(dir);
  EXPECT_TRUE(back.ood);
  EXPECT_EQ(back.ood_source, "uniform-noise");
  EXPECT_EQ(back.labels, (std::vector<int64_t>{-1, -1}));
  // A normal trace with -1 is refused, saying where -1 belongs.
  ExitTrace a = fixtures::trace_a();
  a.labels[0] = -1;
  EXPECT_NE(
      sdn::testing::error_message([&] {
        a.validate("A");
      }).find("-1 only in an out-of-distribution trace"),
      std::string::npos);
  // An OOD trace with a real label is refused too.
  ExitTrace o = ood_for_a();
  o.labels[1] = 0;
  EXPECT_THROW(o.validate("O"), sdn::Error);
  // A normal trace writes no "ood" key (its meta.json is as before).
  const std::string plain = fixtures::temp_dir("plain_trace");
  write_trace(plain, fixtures::trace_a());
  EXPECT_FALSE(read_trace(plain).meta.contains("ood"));
}

} // namespace
