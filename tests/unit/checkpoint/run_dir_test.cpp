// Run directories: the best checkpoint rule, metrics.jsonl across a resume,
// has_run with an interrupted swap, and what a resume needs.
#include "sdn/checkpoint/run_dir.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace sdn::checkpoint;

namespace {

EpochMetrics epoch(int64_t e, std::vector<double> val) {
  EpochMetrics m;
  m.epoch = e;
  m.lr = 0.1;
  m.loss = 1.0 / static_cast<double>(e);
  m.train_accuracy = {50};
  m.val_accuracy = std::move(val);
  return m;
}

sdn::network::SdnNetwork small_cnn() {
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 3;
  o.with_ics = false;
  torch::manual_seed(4);
  return sdn::network::SdnNetwork(o);
}

TEST(RunDirectory, BestIsAStrictlyHigherFinalExitOrEveryEpochWithoutVal) {
  RunDirectory run("/unused");
  EXPECT_TRUE(run.update_best(epoch(1, {10, 40})));
  EXPECT_EQ(run.best_val_accuracy(), 40);
  EXPECT_FALSE(run.update_best(epoch(2, {90, 40}))); // final exit equal
  EXPECT_FALSE(run.update_best(epoch(3, {90, 30})));
  EXPECT_TRUE(run.update_best(epoch(4, {0, 41})));
  EXPECT_EQ(run.best_val_accuracy(), 41);
  RunDirectory no_val("/unused");
  EXPECT_TRUE(no_val.update_best(epoch(1, {})));
  EXPECT_TRUE(no_val.update_best(epoch(2, {})));
  EXPECT_EQ(no_val.best_val_accuracy(), -1);
}

TEST(RunDirectory, MetricsLinesSurviveAResumeAsWritten) {
  sdn::testing::TempDir tmp("run_dir_metrics");
  const std::string dir = tmp.str("run");
  RunDirectory run(dir);
  for (int64_t e = 1; e <= 3; ++e) {
    run.append_metrics(epoch(e, {20.0 * static_cast<double>(e)}));
  }
  const std::string three = sdn::read_file(run.metrics_file());
  EXPECT_EQ(
      three,
      to_json(epoch(1, {20})).dump() + "\n" + to_json(epoch(2, {40})).dump() +
          "\n" + to_json(epoch(3, {60})).dump() + "\n");
  // A checkpoint after epoch 2 (epoch 3 trained, then lost): epoch 3's line
  // goes, an unreadable line too, and the best accuracy comes back.
  sdn::write_file_atomic(run.metrics_file(), three + "{not json\n");
  CheckpointMeta meta;
  meta.epoch = 2;
  meta.best_val_accuracy = 40;
  auto resumed = RunDirectory::resume(dir, meta);
  ASSERT_EQ(resumed.metrics_lines().size(), 2u);
  EXPECT_EQ(resumed.best_val_accuracy(), 40);
  resumed.append_metrics(epoch(3, {60}));
  EXPECT_EQ(sdn::read_file(run.metrics_file()), three);
  // No metrics file: nothing to keep.
  auto fresh = RunDirectory::resume(tmp.str("other"), meta);
  EXPECT_TRUE(fresh.metrics_lines().empty());
}

TEST(RunDirectory, ResumeRestoresTheLineLostAfterTheCheckpoint) {
  sdn::testing::TempDir tmp("run_dir_lost_line");
  const std::string dir = tmp.str("run");
  RunDirectory run(dir);
  run.append_metrics(epoch(1, {20}));
  const std::string one = sdn::read_file(run.metrics_file());
  run.append_metrics(epoch(2, {40}));
  const std::string two = sdn::read_file(run.metrics_file());
  // Epoch 2's checkpoint was written, its line was not (killed, disk full).
  sdn::write_file_atomic(run.metrics_file(), one);
  CheckpointMeta meta;
  meta.epoch = 2;
  meta.metrics = epoch(2, {40});
  // As the sidecar carries it: through JSON and back.
  meta.metrics = epoch_metrics_from_json(to_json(meta.metrics));
  auto resumed = RunDirectory::resume(dir, meta);
  EXPECT_EQ(resumed.metrics_lines().size(), 2u);
  EXPECT_EQ(sdn::read_file(run.metrics_file()), two);
  // Nor is the file needed: a run whose metrics.jsonl was lost gets the
  // checkpoint's line back.
  std::filesystem::remove(run.metrics_file());
  RunDirectory::resume(dir, meta);
  EXPECT_EQ(
      sdn::read_file(run.metrics_file()),
      to_json(epoch(2, {40})).dump() + "\n");
}

TEST(RunDirectory, CheckpointsAndResumeState) {
  sdn::testing::TempDir tmp("run_dir_ckpt");
  const std::string dir = tmp.str("run");
  EXPECT_FALSE(has_run(dir));
  auto net = small_cnn();
  TrainConfig config;
  config.data.name = "synthetic";
  config.data.synthetic_classes = 3; // as the network above
  config.data.synthetic_channels = 1;
  config.out = dir;
  RunDirectory run(dir);
  auto meta = make_checkpoint_meta(net, config, 1, epoch(1, {50}));
  run.write_checkpoints(net, meta, "state", /*is_best=*/true);
  EXPECT_TRUE(has_run(dir));
  EXPECT_TRUE(sdn::path_exists(run.best() + "/model.pt"));
  EXPECT_FALSE(sdn::path_exists(run.best() + "/optimizer.pt"));
  const auto state = read_resume_state(dir);
  EXPECT_EQ(state.meta.epoch, 1);
  EXPECT_EQ(state.optimizer_state, "state");
  EXPECT_EQ(state.optimizer_file, run.last() + "/optimizer.pt");

  // An interrupted swap leaves last.old: still a run; resuming completes
  // the swap and reads it from last.
  fs::rename(run.last(), run.last() + ".old");
  EXPECT_TRUE(has_run(dir));
  EXPECT_EQ(
      read_resume_state(dir).optimizer_file, run.last() + "/optimizer.pt");
  EXPECT_FALSE(fs::exists(run.last() + ".old"));
  // A complete last.new alone is a run too (a fresh run must not take it).
  fs::rename(run.last(), run.last() + ".new");
  EXPECT_TRUE(has_run(dir));
  EXPECT_EQ(read_resume_state(dir).meta.epoch, 1);

  // Without optimiser state (e.g. `best` copied into place) no exact resume.
  fs::remove(run.last() + "/optimizer.pt");
  try {
    read_resume_state(dir);
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(run.last() + "/optimizer.pt"),
        std::string::npos)
        << e.what();
  }
}

} // namespace
