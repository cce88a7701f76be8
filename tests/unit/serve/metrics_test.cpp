// The Prometheus text of GET /metrics: every family typed, histograms
// cumulative with +Inf, _sum and _count, labels 1-based.
#include "sdn/serve/metrics.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <string>

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos ||
      text.rfind(line + "\n", 0) == 0;
}

} // namespace

TEST(Histogram, CountsEachValueInItsFirstBucket) {
  sdn::serve::Histogram h({1, 2, 4});
  for (const double v : {0.5, 1.0, 1.5, 4.0, 9.0}) {
    h.observe(v);
  }
  EXPECT_EQ(h.counts, (std::vector<int64_t>{2, 1, 1, 1}));
  EXPECT_EQ(h.count, 5);
  EXPECT_DOUBLE_EQ(h.sum, 16.0);
}

TEST(Metrics, RendersEveryFamily) {
  sdn::serve::Metrics m(3, 3, 6);
  m.record_batch(0, 6, 0.25);
  m.record_batch(0, 3, 0.125);
  m.record_batch(2, 1, 0.5);
  m.record_exit(0);
  m.record_exit(2);
  m.record_exit(2);
  m.record_response("/v1/classify", 200);
  m.record_response("/v1/classify", 200);
  m.record_response("/v1/classify", 503);
  m.record_response("/healthz", 200);
  m.record_classify_seconds(0.003);
  m.record_classify_seconds(20);
  const std::string text = m.render({4, 0, 1}, 5);
  for (const char* family :
       {"sdn_serve_requests_total counter",
        "sdn_serve_classify_seconds histogram",
        "sdn_serve_exits_total counter",
        "sdn_serve_batch_rows histogram",
        "sdn_serve_stage_seconds_total counter",
        "sdn_serve_queue_rows gauge",
        "sdn_serve_in_flight_images gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family), std::string::npos)
        << family;
  }
  EXPECT_TRUE(has_line(
      text, "sdn_serve_requests_total{path=\"/v1/classify\",code=\"200\"} 2"));
  EXPECT_TRUE(has_line(
      text, "sdn_serve_requests_total{path=\"/v1/classify\",code=\"503\"} 1"));
  EXPECT_TRUE(has_line(
      text, "sdn_serve_requests_total{path=\"/healthz\",code=\"200\"} 1"));
  EXPECT_TRUE(has_line(text, "sdn_serve_exits_total{exit=\"1\"} 1"));
  EXPECT_TRUE(has_line(text, "sdn_serve_exits_total{exit=\"2\"} 0"));
  EXPECT_TRUE(has_line(text, "sdn_serve_exits_total{exit=\"3\"} 2"));
  // Batch-size buckets 1, 2, 4 and max_batch 6, cumulative.
  EXPECT_TRUE(
      has_line(text, "sdn_serve_batch_rows_bucket{stage=\"1\",le=\"2\"} 0"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_batch_rows_bucket{stage=\"1\",le=\"4\"} 1"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_batch_rows_bucket{stage=\"1\",le=\"6\"} 2"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_batch_rows_bucket{stage=\"1\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(text, "sdn_serve_batch_rows_count{stage=\"1\"} 2"));
  EXPECT_TRUE(has_line(text, "sdn_serve_batch_rows_sum{stage=\"1\"} 9"));
  EXPECT_TRUE(has_line(text, "sdn_serve_batch_rows_count{stage=\"2\"} 0"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_stage_seconds_total{stage=\"1\"} 0.375"));
  EXPECT_TRUE(has_line(text, "sdn_serve_stage_seconds_total{stage=\"3\"} 0.5"));
  EXPECT_TRUE(has_line(text, "sdn_serve_queue_rows{stage=\"1\"} 4"));
  EXPECT_TRUE(has_line(text, "sdn_serve_queue_rows{stage=\"3\"} 1"));
  EXPECT_TRUE(has_line(text, "sdn_serve_in_flight_images 5"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_classify_seconds_bucket{le=\"0.001\"} 0"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_classify_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(has_line(text, "sdn_serve_classify_seconds_bucket{le=\"10\"} 1"));
  EXPECT_TRUE(
      has_line(text, "sdn_serve_classify_seconds_bucket{le=\"+Inf\"} 2"));
  EXPECT_TRUE(has_line(text, "sdn_serve_classify_seconds_count 2"));
  // Every line is a comment or "name{labels} value" / "name value".
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    const std::string line = text.substr(start, end - start);
    if (line[0] != '#') {
      const auto space = line.rfind(' ');
      ASSERT_NE(space, std::string::npos) << line;
      EXPECT_NO_THROW((void)std::stod(line.substr(space + 1))) << line;
    }
    start = end + 1;
  }
}

TEST(Metrics, RefusesEmptyShapes) {
  EXPECT_THROW(sdn::serve::Metrics(0, 1, 1), sdn::Error);
  EXPECT_THROW(sdn::serve::Metrics(1, 1, 0), sdn::Error);
}
