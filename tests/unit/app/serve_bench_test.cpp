// sdn bench serve without a server: its options' checks, and its JSON,
// table and HTML page from a hand-made result. The run itself (server
// processes, load, faults) is tests/e2e/bench_serve.sh.
#include "sdn/app/serve_bench.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

namespace {

using sdn::app::ServeBenchOptions;
using sdn::app::ServeBenchResult;

ServeBenchOptions valid_options() {
  ServeBenchOptions o;
  o.checkpoint = "ckpt";
  o.policy.threshold = 0.9;
  return o;
}

// Runs validate() and returns its message ("" when it passes).
std::string problem(const ServeBenchOptions& o) {
  try {
    o.validate();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

TEST(ServeBenchOptions, NamesTheBadOption) {
  EXPECT_EQ(problem(valid_options()), "");
  auto o = valid_options();
  o.modes = {};
  EXPECT_NE(problem(o).find("--modes"), std::string::npos);
  o.modes = {"stage", "gpu"};
  EXPECT_NE(problem(o).find("found 'gpu'"), std::string::npos);
  o.modes = {"cnn", "cnn"};
  EXPECT_NE(problem(o).find("given twice"), std::string::npos);
  o = valid_options();
  o.loads = {0.5, 0.5};
  EXPECT_NE(problem(o).find("--loads: expected ascending"), std::string::npos);
  o.loads = {0, 1};
  EXPECT_NE(problem(o).find("--loads"), std::string::npos);
  o = valid_options();
  o.duration_s = 0;
  EXPECT_NE(problem(o).find("--duration-s"), std::string::npos);
  o = valid_options();
  o.fault_share = 0.1;
  o.fault_load = 0.8; // not one of the loads
  EXPECT_NE(problem(o).find("--fault-load"), std::string::npos);
  o.fault_load = 0.7;
  EXPECT_EQ(problem(o), "");
  o.fault_share = 0.95;
  EXPECT_NE(problem(o).find("--fault-share"), std::string::npos);
  // The default bound needs cnn's rows.
  o = valid_options();
  o.modes = {"stage"};
  EXPECT_NE(problem(o).find("--p99-bound-ms"), std::string::npos);
  o.p99_bound_s = 0.05;
  EXPECT_EQ(problem(o), "");
  // Stage and batch need a policy; cnn alone does not.
  o = valid_options();
  o.policy.threshold.reset();
  EXPECT_NE(problem(o), "");
  o.modes = {"cnn"};
  EXPECT_EQ(problem(o), "");
  o = valid_options();
  o.engine.max_batch = 0;
  EXPECT_NE(problem(o).find("--max-batch"), std::string::npos);
}

sdn::serve::LoadRow row(
    const std::string& mode,
    double load,
    double throughput,
    double p99_ms) {
  sdn::serve::LoadRow r;
  r.mode = mode;
  r.load = load;
  r.offered_rate = 100 * load;
  r.window_s = 10;
  r.sent = static_cast<int64_t>(r.offered_rate * 10);
  r.ok = r.sent - 2;
  r.refused = 1;
  r.failed = 1;
  r.errors["connection: Read"] = 1;
  r.throughput = throughput;
  r.latency = sdn::serve::summarize_latency({0.001, p99_ms / 1000});
  r.accuracy = 0.9;
  r.mean_cost = mode == "cnn" ? 1 : 0.5;
  r.exits = {3, 4};
  r.work.stage_seconds =
      mode == "stage" ? std::vector<double>{2, 3} : std::vector<double>{5};
  r.work.stage_batches =
      mode == "stage" ? std::vector<int64_t>{10, 5} : std::vector<int64_t>{10};
  r.work.stage_rows = mode == "stage" ? std::vector<int64_t>{100, 40} :
                                        std::vector<int64_t>{100};
  return r;
}

ServeBenchResult result() {
  ServeBenchResult r;
  r.options = valid_options();
  r.options.modes = {"stage", "cnn"};
  r.options.loads = {0.5, 0.7};
  r.policy = "max-prob 0.9";
  r.num_exits = 2;
  r.test_images = 100;
  r.capacity = 100;
  r.capacity_connections = 64;
  r.rows = {
      row("cnn", 0.5, 49, 10),
      row("cnn", 0.7, 69, 30),
      row("stage", 0.5, 49, 5),
      row("stage", 0.7, 69, 8)};
  r.rows.back().latency = sdn::serve::summarize_latency({}); // no 200 answer
  r.rows.back().ok = 0;
  r.rule.p99_bound_s = 0.05;
  r.verdicts = sdn::serve::verdicts(r.rows, r.rule);
  sdn::app::FaultRun f;
  f.mode = "stage";
  f.load = 0.7;
  f.share = 0.1;
  f.well_behaved = row("stage+faults", 0.7, 68, 9);
  f.compared = 60;
  f.same_class = 60;
  f.faults = {{"garbage", 3, {{"status 400", 3}}}};
  f.rss_before_kb = 2048;
  f.rss_after_kb = 3072;
  f.peak_rss_kb = 4096;
  f.healthy_after = true;
  r.fault = f;
  r.servers = {{"cnn", "exit status 0", true, 4096}};
  return r;
}

TEST(ServeBenchOutput, JsonHoldsEveryRowAndVerdict) {
  const auto j = sdn::app::serve_bench_json(result());
  ASSERT_EQ(j.at("rows").size(), 4U);
  const auto& first = j.at("rows")[0];
  EXPECT_EQ(first.at("mode"), "cnn");
  EXPECT_EQ(
      first.at("ok").get<int64_t>() + first.at("refused").get<int64_t>() +
          first.at("failed").get<int64_t>(),
      first.at("sent").get<int64_t>());
  EXPECT_DOUBLE_EQ(first.at("latency_ms").at("max").get<double>(), 10);
  EXPECT_EQ(first.at("errors").at("connection: Read"), 1);
  EXPECT_DOUBLE_EQ(first.at("busy_share").get<double>(), 0.5);
  // No 200 answer: latencies are NaN, written as null.
  const auto written = nlohmann::json::parse(j.dump());
  EXPECT_TRUE(written.at("rows")[3].at("latency_ms").at("p99").is_null());
  EXPECT_DOUBLE_EQ(j.at("capacity").at("images_per_second").get<double>(), 100);
  EXPECT_DOUBLE_EQ(j.at("p99_bound_ms").get<double>(), 50);
  ASSERT_EQ(j.at("verdicts").size(), 2U);
  EXPECT_EQ(j.at("verdicts")[1].at("name"), "p99");
  EXPECT_FALSE(j.at("verdicts")[1].at("measured").get<bool>());
  EXPECT_EQ(j.at("fault_run").at("same_class"), 60);
  EXPECT_EQ(
      j.at("fault_run").at("faults")[0].at("outcomes").at("status 400"), 3);
  EXPECT_TRUE(j.at("servers")[0].at("clean").get<bool>());
  auto none = result();
  none.fault.reset();
  EXPECT_TRUE(sdn::app::serve_bench_json(none).at("fault_run").is_null());
}

TEST(ServeBenchOutput, TableAndVerdictLines) {
  std::ostringstream out;
  sdn::app::print_serve_bench(out, result());
  const std::string text = out.str();
  EXPECT_NE(text.find("cnn capacity: 100.0 images/s"), std::string::npos);
  EXPECT_NE(text.find("stage   0.50"), std::string::npos);
  EXPECT_NE(text.find("s2 30.0 % (8.0)"), std::string::npos);
  // stage sustains 49/s (no 200 answer at 0.7), cnn 69/s: below 1.5x.
  EXPECT_NE(text.find("throughput: FAIL"), std::string::npos);
  EXPECT_NE(text.find("p99: not measured"), std::string::npos);
  EXPECT_NE(text.find("fault run: stage at load 0.70"), std::string::npos);
  EXPECT_NE(text.find("60 of 60"), std::string::npos);
  EXPECT_NE(text.find("cnn exit status 0"), std::string::npos);
}

TEST(ServeBenchOutput, HtmlPageWithBothPlots) {
  const std::string html =
      sdn::app::render_serve_bench_html(result(), "a subtitle");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  size_t svgs = 0;
  for (size_t at = 0; (at = html.find("<svg", at)) != std::string::npos; ++at) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 2U);
  for (const char* text :
       {"Latency against offered load",
        "Throughput against offered rate",
        "Where the time goes",
        "Fault run: stage at load 0.70",
        "stage+faults",
        "a subtitle"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

} // namespace
