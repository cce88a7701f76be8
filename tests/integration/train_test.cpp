// Tiny synthetic training runs in each mode, resume equivalence, the clean
// IC-only variant, and bad checkpoints.
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/network/sdn_network.h"
#include "sdn/train/trainer.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;
using sdn::checkpoint::Mode;
using sdn::checkpoint::TrainConfig;

namespace {

constexpr int64_t kClasses = 4;

std::string temp_dir(const std::string& name) {
  // A path inside a fresh unique folder; the run creates it.
  return sdn::testing::unique_temp_dir("train_" + name) + "/run";
}

TrainConfig tiny(Mode mode, const std::string& out) {
  TrainConfig c;
  c.arch = "resnet56";
  c.mode = mode;
  sdn::checkpoint::apply_recipe(c);
  c.data.name = "synthetic";
  c.data.synthetic_train = 512;
  c.data.synthetic_test = 64;
  c.data.synthetic_classes = kClasses;
  c.data.synthetic_channels = 1;
  c.data.val_size = 128;
  // Five short epochs with a drop before the last two: enough for ResNet-56
  // to learn the synthetic classes (eval-mode BN lags at a constant lr).
  c.epochs = 5;
  c.batch_size = 16;
  c.milestones = {4};
  if (mode != Mode::kIcOnly) {
    c.lr = 0.05;
    c.warmup_steps = 10;
  }
  c.out = out;
  return c;
}

// Every named parameter and buffer of `a` equals `b`'s bit for bit.
void expect_same_state(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
  auto ba = a.named_buffers();
  auto bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) {
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << item.key();
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

} // namespace

class TrainModes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(2);
    cnn_dir_ = temp_dir("cnn");
    cnn_ = sdn::train::run_training(tiny(Mode::kCnn, cnn_dir_));
  }
  static std::string cnn_dir_;
  static sdn::train::TrainResult cnn_;
};
std::string TrainModes::cnn_dir_;
sdn::train::TrainResult TrainModes::cnn_;

TEST_F(TrainModes, CnnLearns) {
  ASSERT_EQ(cnn_.history.size(), 5u);
  EXPECT_TRUE(cnn_.finished);
  EXPECT_LT(cnn_.history.back().loss, cnn_.history.front().loss);
  ASSERT_EQ(cnn_.history.back().val_accuracy.size(), 1u);
  EXPECT_GT(cnn_.history.back().val_accuracy[0], 100.0 / kClasses + 15);
  auto meta = sdn::checkpoint::read_checkpoint_meta(cnn_dir_ + "/last");
  EXPECT_EQ(meta.epoch, 5);
  EXPECT_FALSE(meta.with_ics);
  EXPECT_TRUE(sdn::path_exists(cnn_dir_ + "/best/model.pt"));
  EXPECT_TRUE(sdn::path_exists(cnn_dir_ + "/metrics.jsonl"));
}

TEST_F(TrainModes, IcOnlyTrainsEveryIcAboveChance) {
  auto c = tiny(Mode::kIcOnly, temp_dir("ic"));
  c.from = cnn_dir_ + "/last";
  c.epochs = 2;
  const auto r = sdn::train::run_training(c);
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  for (const double acc : r.history.back().val_accuracy) {
    EXPECT_GT(acc, 100.0 / kClasses + 10);
  }
  // The original keeps the frozen backbone in train mode: BN stats drift.
  auto cnn = sdn::checkpoint::load_network(cnn_dir_ + "/last");
  auto ic = sdn::checkpoint::load_network(c.out + "/last");
  bool drift = false;
  auto cb = cnn->backbone()->named_buffers();
  for (const auto& item : ic->backbone()->named_buffers()) {
    drift = drift || !torch::equal(item.value(), cb[item.key()]);
  }
  EXPECT_TRUE(drift);
  // ...but the frozen weights themselves never change.
  auto cp = cnn->backbone()->named_parameters();
  for (const auto& item : ic->backbone()->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), cp[item.key()])) << item.key();
  }
}

TEST_F(TrainModes, CleanIcOnlyLeavesBackboneBitIdentical) {
  auto c = tiny(Mode::kIcOnly, temp_dir("ic_clean"));
  c.from = cnn_dir_ + "/last";
  c.epochs = 1;
  c.ic_only_clean = true;
  sdn::train::run_training(c);
  auto cnn = sdn::checkpoint::load_network(cnn_dir_ + "/last");
  auto ic = sdn::checkpoint::load_network(c.out + "/last");
  expect_same_state(*cnn->backbone(), *ic->backbone());
}

TEST_F(TrainModes, SdnTrainingLearnsEveryExit) {
  const auto r = sdn::train::run_training(tiny(Mode::kSdn, temp_dir("sdn")));
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  ASSERT_EQ(r.history.back().val_accuracy.size(), 7u);
  for (const double acc : r.history.back().val_accuracy) {
    EXPECT_GT(acc, 100.0 / kClasses + 10);
  }
  ASSERT_EQ(r.history.back().ic_weights.size(), 6u);
  EXPECT_DOUBLE_EQ(r.history.back().ic_weights[5], 0.9); // epoch 5 of 5
}

TEST_F(TrainModes, BadCheckpointsAreRejectedByName) {
  auto c = tiny(Mode::kIcOnly, temp_dir("bad"));
  c.from = "/nonexistent/ckpt";
  EXPECT_NE(
      error_of([&] { sdn::train::run_training(c); }).find("/nonexistent/ckpt"),
      std::string::npos);
  c.from = cnn_dir_ + "/last";
  c.arch = "vgg16";
  EXPECT_NE(
      error_of([&] { sdn::train::run_training(c); }).find("vgg16"),
      std::string::npos);
  // A corrupt weights file.
  const std::string corrupt = temp_dir("corrupt");
  fs::copy(cnn_dir_ + "/last", corrupt, fs::copy_options::recursive);
  sdn::write_file_atomic(corrupt + "/model.pt", "garbage");
  EXPECT_NE(
      error_of([&] {
        sdn::checkpoint::load_network(corrupt);
      }).find(corrupt + "/model.pt"),
      std::string::npos);
  // Missing sidecar field.
  auto meta = sdn::read_json(cnn_dir_ + "/last/meta.json");
  meta.erase("arch");
  sdn::write_json_atomic(corrupt + "/meta.json", meta);
  EXPECT_NE(
      error_of([&] { sdn::checkpoint::load_network(corrupt); }).find("'arch'"),
      std::string::npos);
  // A fresh run refuses a directory that already holds one.
  EXPECT_NE(
      error_of([&] {
        sdn::train::run_training(tiny(Mode::kCnn, cnn_dir_));
      }).find("--resume"),
      std::string::npos);
}

TEST_F(TrainModes, IcOnlyNeedsACnnCheckpoint) {
  auto sdn_cfg = tiny(Mode::kSdn, temp_dir("sdn_src"));
  sdn_cfg.epochs = 1;
  sdn_cfg.data.synthetic_train = 160;
  sdn::train::run_training(sdn_cfg);
  auto c = tiny(Mode::kIcOnly, temp_dir("ic_from_sdn"));
  c.from = sdn_cfg.out + "/last";
  EXPECT_NE(
      error_of([&] {
        sdn::train::run_training(c);
      }).find("needs a CNN checkpoint"),
      std::string::npos);
}

TEST(Train, ResumeEqualsUninterruptedRun) {
  torch::set_num_threads(2);
  auto full = tiny(Mode::kSdn, temp_dir("full"));
  full.epochs = 2;
  full.milestones = {2};
  full.data.synthetic_train = 256;
  sdn::train::run_training(full);

  auto part = full;
  part.out = temp_dir("part");
  part.stop_after = 1;
  const auto first = sdn::train::run_training(part);
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(first.epochs_done, 1);
  sdn::train::ResumeOptions resume;
  resume.out_dir = part.out;
  const auto rest = sdn::train::resume_training(resume);
  EXPECT_TRUE(rest.finished);
  EXPECT_EQ(rest.history.size(), 1u);

  auto a = sdn::checkpoint::load_network(full.out + "/last");
  auto b = sdn::checkpoint::load_network(part.out + "/last");
  expect_same_state(*a, *b);
  // metrics.jsonl holds both epochs once.
  const auto lines = sdn::read_file(part.out + "/metrics.jsonl");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
}

TEST(Train, SdnStartsFromTheCnnInitialisation) {
  sdn::network::NetworkOptions o;
  o.backbone.arch = "resnet56";
  o.backbone.num_classes = kClasses;
  o.with_ics = false;
  torch::manual_seed(7);
  sdn::network::SdnNetwork cnn(o);
  o.with_ics = true;
  torch::manual_seed(7);
  sdn::network::SdnNetwork sdn_net(o);
  expect_same_state(*cnn->backbone(), *sdn_net->backbone());
}

TEST(Train, NonFiniteLossStopsWithEpochAndBatch) {
  torch::set_num_threads(2);
  auto c = tiny(Mode::kCnn, temp_dir("nan"));
  c.lr = 1e30;
  c.warmup_steps = 0;
  c.data.synthetic_train = 384;
  const auto msg = error_of([&] { sdn::train::run_training(c); });
  EXPECT_NE(msg.find("epoch 1, batch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
  EXPECT_FALSE(sdn::path_exists(c.out + "/last/model.pt"));
}
