#include "sdn/analysis/exit_trace.h"
#include "sdn/analysis/npy.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

namespace {

using namespace sdn::analysis;
using sdn::analysis::fixtures::temp_dir;
using sdn::analysis::fixtures::trace_a;

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ExitTrace, AccessorsAndAccuracies) {
  const ExitTrace a = trace_a();
  EXPECT_EQ(a.num_ics(), 2);
  EXPECT_EQ(a.final_exit(), 2);
  EXPECT_FLOAT_EQ(a.prob(1, 1, 1), 0.7F);
  // s3 at IC2 is [.35 .3 .35]: the first maximum (class 0) wins.
  EXPECT_EQ(a.prediction(3, 1), 0);
  EXPECT_FLOAT_EQ(a.confidence(3, 1), 0.35F);
  // Right at IC1: s0 s3; IC2: s0 s1 s2; final: s0 s1.
  EXPECT_EQ(exit_accuracy(a), (std::vector<double>{50, 75, 50}));
  // Top-2, ranking ties by class index: s2's label 2 at IC1 ([.4 .3 .3]) has
  // classes 0 and 1 (tie, lower index) above it -> out; s3's label 1 at IC2
  // has classes 0 and 2 (both .35) above -> out; s2 at final: 0 and 1 above
  // -> out. So each exit misses exactly one sample: 75 %.
  EXPECT_EQ(exit_topk_accuracy(a, 2), (std::vector<double>{75, 75, 75}));
  // Top-5 of 3 classes: every label is in.
  EXPECT_EQ(exit_topk_accuracy(a, 5), (std::vector<double>{100, 100, 100}));
  const TracePredictions p = compute_predictions(a);
  EXPECT_EQ(p.pred(2, 2), 0);
  EXPECT_TRUE(p.is_correct(2, 1));
  EXPECT_FALSE(p.is_correct(2, 2));
}

TEST(ExitTrace, WriteReadRoundTrip) {
  const std::string dir = temp_dir("trace_round_trip") + "/trace";
  ExitTrace a = trace_a();
  a.exit_cost_exact = {0.25, 0.55, 1.01};
  a.meta = {{"dataset", "cifar10"}, {"num_samples", 999}};
  write_trace(dir, a);
  const ExitTrace b = read_trace(dir);
  EXPECT_EQ(b.num_samples, 4);
  EXPECT_EQ(b.num_exits, 3);
  EXPECT_EQ(b.num_classes, 3);
  EXPECT_EQ(b.probs, a.probs);
  EXPECT_EQ(b.labels, a.labels);
  EXPECT_EQ(b.exit_cost, a.exit_cost);
  EXPECT_EQ(b.exit_cost_exact, a.exit_cost_exact);
  EXPECT_EQ(b.split, "test");
  EXPECT_EQ(b.checkpoint, "hand-made");
  // Extra meta keys survive; the struct's fields win over stale meta.
  EXPECT_EQ(b.meta.at("dataset"), "cifar10");
  EXPECT_EQ(b.meta.at("num_samples"), 4);
  // The files are what docs/exit-trace.md promises.
  const NpyHeader probs =
      parse_npy_header(sdn::read_file(dir + "/probs.npy"), "probs.npy");
  EXPECT_EQ(probs.descr, "<f4");
  EXPECT_EQ(probs.shape, (std::vector<int64_t>{4, 3, 3}));
  const NpyHeader labels =
      parse_npy_header(sdn::read_file(dir + "/labels.npy"), "labels.npy");
  EXPECT_EQ(labels.descr, "<i8");
  EXPECT_EQ(labels.shape, (std::vector<int64_t>{4}));
  // No temporaries left behind by the atomic writes.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 3);
}

TEST(ExitTrace, CnnTraceHasOneExit) {
  const std::string dir = temp_dir("trace_cnn");
  const ExitTrace cnn = fixtures::make_trace(
      {{{0.9F, 0.1F}}, {{0.2F, 0.8F}}, {{0.6F, 0.4F}}}, {0, 1, 1}, {1.0});
  write_trace(dir, cnn);
  const ExitTrace back = read_trace(dir);
  EXPECT_EQ(back.num_exits, 1);
  EXPECT_EQ(back.num_ics(), 0);
  EXPECT_EQ(exit_accuracy(back).size(), 1u);
  EXPECT_NEAR(exit_accuracy(back)[0], 200.0 / 3.0, 1e-9);
}

// numpy reads what write_trace writes: the layout is usable without sdn.
TEST(ExitTrace, NumpyLoadsWrittenTrace) {
  const std::string python = "/usr/bin/python3";
  ASSERT_TRUE(std::filesystem::exists(python))
      << "scripts/setup installs python3 and python3-numpy";
  const std::string dir = temp_dir("trace_numpy");
  write_trace(dir, trace_a());
  const std::string script =
      "import json, sys, numpy as np\n"
      "d = sys.argv[1]\n"
      "p = np.load(d + '/probs.npy'); y = np.load(d + '/labels.npy')\n"
      "m = json.load(open(d + '/meta.json'))\n"
      "assert p.dtype == np.float32 and p.shape == (4, 3, 3), p.shape\n"
      "assert y.dtype == np.int64 and list(y) == [0, 1, 2, 1], y\n"
      "assert abs(p[1, 1, 1] - 0.7) < 1e-6 and abs(p[3, 2, 1] - 0.45) < 1e-6\n"
      "assert np.allclose(p.sum(-1), 1, atol=1e-6)\n"
      "assert (p.argmax(-1) == y[:, None]).mean(0).tolist() == [.5, .75, .5]\n"
      "assert m['num_exits'] == 3 and m['exit_cost'] == [0.3, 0.6, 1.05]\n";
  sdn::write_file_atomic(dir + "/check.py", script);
  const std::string command = python + " " + dir + "/check.py " + dir + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

class BadTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    write_trace(dir_, trace_a());
  }
  std::string load_error() {
    return error_message([&] { read_trace(dir_); });
  }
  std::string dir_;
};

TEST_F(BadTrace, MissingFile) {
  std::filesystem::remove(dir_ + "/labels.npy");
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "labels.npy: missing")) << msg;
}

TEST_F(BadTrace, ShapeMismatchBetweenProbsAndLabels) {
  write_npy(dir_ + "/labels.npy", std::vector<int64_t>{0, 1, 2}, {3});
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "shape mismatch")) << msg;
  EXPECT_TRUE(contains(msg, "probs.npy has 4 samples but labels.npy has 3"))
      << msg;
}

TEST_F(BadTrace, ShapeMismatchWithMeta) {
  nlohmann::json meta = sdn::read_json(dir_ + "/meta.json");
  meta["num_classes"] = 4;
  sdn::write_json_atomic(dir_ + "/meta.json", meta);
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "probs.npy has shape [4, 3, 3]")) << msg;
  EXPECT_TRUE(contains(msg, "meta.json says")) << msg;
}

TEST_F(BadTrace, ProbabilitiesNotSummingToOne) {
  ExitTrace a = trace_a();
  a.probs[9] = 0.9F; // sample 1, exit 0: [.9 .4 .1] sums to 1.4.
  write_npy(dir_ + "/probs.npy", a.probs, {4, 3, 3});
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "probs.npy: probabilities of sample 1, exit 0"))
      << msg;
  EXPECT_TRUE(contains(msg, "sum to 1.4")) << msg;
}

TEST_F(BadTrace, NegativeProbability) {
  ExitTrace a = trace_a();
  a.probs[0] = 1.0F; // sample 0, exit 0: [1 .05 -.05]
  a.probs[2] = -0.05F;
  write_npy(dir_ + "/probs.npy", a.probs, {4, 3, 3});
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "sample 0, exit 0, class 2 is -0.05")) << msg;
}

TEST_F(BadTrace, LabelOutOfRange) {
  write_npy(dir_ + "/labels.npy", std::vector<int64_t>{0, 1, 7, 1}, {4});
  const std::string msg = load_error();
  EXPECT_TRUE(
      contains(msg, "labels.npy: label of sample 2 is 7, outside [0, 3)"))
      << msg;
}

TEST_F(BadTrace, WrongDtype) {
  write_npy(dir_ + "/probs.npy", std::vector<int64_t>(36, 0), {4, 3, 3});
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "probs.npy: dtype '<i8'")) << msg;
}

TEST_F(BadTrace, ExitCostOfWrongLength) {
  nlohmann::json meta = sdn::read_json(dir_ + "/meta.json");
  meta["exit_cost"] = {0.3, 1.0};
  sdn::write_json_atomic(dir_ + "/meta.json", meta);
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "meta.json: 'exit_cost' has 2 entries")) << msg;
}

TEST_F(BadTrace, ExitCostNoNetworkHas) {
  // Relative costs are fractions of the CNN's: 1e300 would overflow the
  // averages to infinity.
  nlohmann::json meta = sdn::read_json(dir_ + "/meta.json");
  meta["exit_cost"] = {0.3, 0.6, 1e300};
  sdn::write_json_atomic(dir_ + "/meta.json", meta);
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "is not a cost relative to the CNN's")) << msg;
}

TEST_F(BadTrace, MetaWithoutCounts) {
  nlohmann::json meta = sdn::read_json(dir_ + "/meta.json");
  meta.erase("num_exits");
  sdn::write_json_atomic(dir_ + "/meta.json", meta);
  const std::string msg = load_error();
  EXPECT_TRUE(contains(msg, "meta.json: missing key 'num_exits'")) << msg;
}

TEST(ExitTrace, WriteRejectsBadTrace) {
  ExitTrace a = trace_a();
  a.exit_cost = {0.6, 0.3, 1.05};
  const std::string msg =
      error_message([&] { write_trace(temp_dir("trace_bad_write"), a); });
  EXPECT_TRUE(contains(msg, "must not decrease")) << msg;
}

TEST(ExitTrace, ASymlinkedFolderIsWrittenThrough) {
  const std::string root = temp_dir("trace_symlink");
  std::filesystem::create_directories(root + "/target");
  std::filesystem::create_directory_symlink("target", root + "/link");
  write_trace(root + "/link", trace_a());
  EXPECT_TRUE(std::filesystem::is_symlink(root + "/link"));
  EXPECT_EQ(read_trace(root + "/target").num_samples, 4);
  EXPECT_EQ(read_trace(root + "/link").num_samples, 4);
}

} // namespace
