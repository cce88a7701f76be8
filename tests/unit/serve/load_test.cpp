// The pure parts of sdn bench serve: the Poisson schedule, percentiles,
// /metrics parsing, and the verdicts on hand-made rows.
#include "sdn/serve/load.h"

#include "sdn/serve/metrics.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using sdn::serve::LoadRow;
using sdn::serve::SustainRule;

TEST(PoissonSchedule, CountAndMeanGapMatchTheRate) {
  const double rate = 200;
  const double duration = 500; // 100000 arrivals expected
  const auto t = sdn::serve::poisson_schedule(rate, duration, 42);
  const double n = static_cast<double>(t.size());
  // The count is Poisson(100000): sd 316; 5 sd either side.
  EXPECT_NEAR(n, rate * duration, 5 * std::sqrt(rate * duration));
  // Gaps are exponential with mean 1/rate and sd 1/rate: their mean's sd
  // over n gaps is 1/(rate sqrt(n)); 5 of them either side.
  double previous = 0;
  double sum = 0;
  double sum_sq = 0;
  for (const double x : t) {
    ASSERT_GE(x, previous);
    ASSERT_LT(x, duration);
    sum += x - previous;
    sum_sq += (x - previous) * (x - previous);
    previous = x;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 1 / rate, 5 / (rate * std::sqrt(n)));
  // Exponential: the variance is the mean squared (a fixed-gap or uniform
  // schedule would fail this).
  const double variance = sum_sq / n - mean * mean;
  EXPECT_NEAR(variance / (mean * mean), 1.0, 0.05);
}

TEST(PoissonSchedule, SameSeedSameTimesOtherSeedOthers) {
  const auto a = sdn::serve::poisson_schedule(50, 10, 7);
  const auto b = sdn::serve::poisson_schedule(50, 10, 7);
  const auto c = sdn::serve::poisson_schedule(50, 10, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_FALSE(a.empty());
  // Fixed by mt19937_64's definition and the inversion: the first time of
  // seed 7 is -ln(1 - u) / 50 for its first 53-bit u.
  std::mt19937_64 random(7);
  const double u = static_cast<double>(random() >> 11) * 0x1p-53;
  EXPECT_DOUBLE_EQ(a[0], -std::log1p(-u) / 50);
}

TEST(PoissonSchedule, RefusesBadRatesAndDurations) {
  EXPECT_THROW(sdn::serve::poisson_schedule(0, 1, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::poisson_schedule(-1, 1, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::poisson_schedule(NAN, 1, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::poisson_schedule(1, 0, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::poisson_schedule(1, INFINITY, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::poisson_schedule(1e6, 1e3, 1), sdn::Error);
}

TEST(Percentile, InterpolatesBetweenClosestRanks) {
  // numpy.percentile([4, 1, 3, 2], q) with the default "linear" method.
  const std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(sdn::serve::percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(sdn::serve::percentile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(sdn::serve::percentile(v, 0.99), 3.97);
  EXPECT_DOUBLE_EQ(sdn::serve::percentile(v, 1), 4);
  EXPECT_DOUBLE_EQ(sdn::serve::percentile({5}, 0.99), 5);
  EXPECT_TRUE(std::isnan(sdn::serve::percentile({}, 0.5)));
  EXPECT_THROW(sdn::serve::percentile(v, 1.5), sdn::Error);
  EXPECT_THROW(sdn::serve::percentile({1, NAN}, 0.5), sdn::Error);
}

TEST(Percentile, SummaryOfAHundredLatencies) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) {
    v.push_back(i / 1000.0); // 1 ms .. 100 ms
  }
  const auto s = sdn::serve::summarize_latency(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_NEAR(s.p50, 0.0505, 1e-12);
  EXPECT_NEAR(s.p95, 0.09505, 1e-12);
  EXPECT_NEAR(s.p99, 0.09901, 1e-12);
  EXPECT_DOUBLE_EQ(s.max, 0.1);
  EXPECT_NEAR(s.mean, 0.0505, 1e-12);
}

TEST(ParseMetrics, ReadsWhatTheServerRenders) {
  sdn::serve::Metrics m(2, 2, 8);
  m.record_batch(0, 8, 0.25);
  m.record_batch(0, 3, 0.125);
  m.record_batch(1, 2, 0.5);
  m.record_response("/v1/classify", 503);
  const auto s = sdn::serve::parse_metrics(m.render({1, 0}, 3));
  EXPECT_DOUBLE_EQ(
      sdn::serve::metric_value(
          s, "sdn_serve_stage_seconds_total", "stage", "1"),
      0.375);
  EXPECT_DOUBLE_EQ(
      sdn::serve::metric_value(s, "sdn_serve_batch_rows_sum", "stage", "1"),
      11);
  EXPECT_DOUBLE_EQ(
      sdn::serve::metric_value(s, "sdn_serve_in_flight_images"), 3);
  // Labels are keyed sorted by name, whatever order they came in.
  EXPECT_EQ(
      s.at("sdn_serve_requests_total{code=\"503\",path=\"/v1/classify\"}"), 1);
  EXPECT_DOUBLE_EQ(
      s.at("sdn_serve_batch_rows_bucket{le=\"+Inf\",stage=\"2\"}"), 1);
  EXPECT_THROW(
      sdn::serve::metric_value(
          s, "sdn_serve_stage_seconds_total", "stage", "3"),
      sdn::Error);
}

TEST(ParseMetrics, RefusesMalformedLines) {
  EXPECT_THROW(sdn::serve::parse_metrics("a{b=\"1\" 2\n"), sdn::Error);
  EXPECT_THROW(sdn::serve::parse_metrics("a\n"), sdn::Error);
  EXPECT_THROW(sdn::serve::parse_metrics("a x\n"), sdn::Error);
  EXPECT_THROW(sdn::serve::parse_metrics("a 1\na 2\n"), sdn::Error);
  EXPECT_THROW(sdn::serve::parse_metrics("a 1 2 3\n"), sdn::Error);
  EXPECT_THROW(sdn::serve::parse_metrics("{b=\"1\"} 2\n"), sdn::Error);
  const auto s = sdn::serve::parse_metrics(
      "# HELP a x\n\na{z=\"q\\\"\",b=\"\"} 1.5 1700000000\nb NaN\nc +Inf\n");
  EXPECT_DOUBLE_EQ(s.at("a{b=\"\",z=\"q\"\"}"), 1.5);
  EXPECT_TRUE(std::isnan(s.at("b")));
  EXPECT_TRUE(std::isinf(s.at("c")));
}

TEST(ServerWork, DifferencesOfTwoScrapes) {
  sdn::serve::Metrics m(2, 2, 4);
  m.record_batch(0, 4, 0.5);
  const auto before = sdn::serve::parse_metrics(m.render({0, 0}, 0));
  m.record_batch(0, 2, 0.25);
  m.record_batch(1, 1, 0.125);
  m.record_batch(1, 3, 0.125);
  const auto after = sdn::serve::parse_metrics(m.render({0, 0}, 0));
  const auto w = sdn::serve::server_work(before, after, 2);
  EXPECT_EQ(w.stage_seconds, (std::vector<double>{0.25, 0.25}));
  EXPECT_EQ(w.stage_batches, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(w.stage_rows, (std::vector<int64_t>{2, 4}));
  // Backwards: scrapes of two servers.
  EXPECT_THROW(sdn::serve::server_work(after, before, 2), sdn::Error);
  EXPECT_THROW(sdn::serve::server_work(before, after, 3), sdn::Error);
}

LoadRow row(
    const std::string& mode,
    double load,
    double throughput,
    double p99_ms,
    int64_t refused = 0) {
  LoadRow r;
  r.mode = mode;
  r.load = load;
  r.sent = 1000;
  r.refused = refused;
  r.ok = r.sent - refused;
  r.throughput = throughput;
  r.latency.count = r.ok;
  r.latency.p99 = p99_ms / 1000;
  return r;
}

TEST(Verdicts, SustainedThroughputIsTheBestRowUnderTheBound) {
  const SustainRule rule{0.050, 0.01};
  const std::vector<LoadRow> rows = {
      row("cnn", 0.5, 50, 10),
      row("cnn", 0.9, 90, 40),
      row("cnn", 1.2, 100, 900), // over the bound
      row("stage", 0.5, 50, 5),
      row("stage", 0.9, 90, 8),
      row("stage", 1.2, 120, 20),
      row("stage", 1.5, 140, 30, 20), // 2 % refused: not sustained
  };
  EXPECT_TRUE(sdn::serve::sustains(rows[1], rule));
  EXPECT_FALSE(sdn::serve::sustains(rows[2], rule));
  EXPECT_FALSE(sdn::serve::sustains(rows[6], rule));
  EXPECT_DOUBLE_EQ(sdn::serve::sustained_throughput(rows, "cnn", rule), 90);
  EXPECT_DOUBLE_EQ(sdn::serve::sustained_throughput(rows, "stage", rule), 120);
  EXPECT_DOUBLE_EQ(sdn::serve::sustained_throughput(rows, "batch", rule), 0);
  // 120 / 90 = 1.33 < 1.5: fails; at 1.3 it passes.
  auto v = sdn::serve::verdicts(rows, rule, 1.5, 0.9);
  ASSERT_EQ(v.size(), 2U);
  EXPECT_TRUE(v[0].measured);
  EXPECT_FALSE(v[0].pass);
  EXPECT_DOUBLE_EQ(v[0].value, 120);
  EXPECT_DOUBLE_EQ(v[0].reference, 90);
  EXPECT_TRUE(sdn::serve::verdicts(rows, rule, 1.3, 0.9)[0].pass);
  // At 0.9, stage's p99 8 ms < cnn's 40 ms.
  EXPECT_TRUE(v[1].measured);
  EXPECT_TRUE(v[1].pass);
  EXPECT_NE(v[1].text.find("PASS"), std::string::npos);
}

TEST(Verdicts, NotMeasuredWithoutTheRowsNeeded) {
  const SustainRule rule{0.050, 0.01};
  // No cnn rows.
  auto v = sdn::serve::verdicts({row("stage", 0.7, 70, 5)}, rule);
  EXPECT_FALSE(v[0].measured);
  EXPECT_FALSE(v[1].measured);
  // cnn sustains nothing; no row at load 0.7.
  v = sdn::serve::verdicts(
      {row("stage", 0.5, 50, 5), row("cnn", 0.5, 50, 500)}, rule);
  EXPECT_FALSE(v[0].measured);
  EXPECT_NE(v[0].text.find("sustains no load"), std::string::npos);
  EXPECT_FALSE(v[1].measured);
  // A p99 equal to cnn's is not below it.
  v = sdn::serve::verdicts(
      {row("stage", 0.7, 70, 12), row("cnn", 0.7, 70, 12)}, rule);
  EXPECT_TRUE(v[1].measured);
  EXPECT_FALSE(v[1].pass);
}

} // namespace
