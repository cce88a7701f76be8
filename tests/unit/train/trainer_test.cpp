// training_loss per mode; clear_gradients gives the same updates as
// zero_grad; a Trainer on a tiny synthetic problem calls its callbacks in
// order and writes what they saw to metrics.jsonl and the checkpoints.
#include "sdn/train/trainer.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace sdn::train {
namespace {

TEST(TrainingLoss, WeighsTheExitsPerMode) {
  torch::manual_seed(5);
  namespace F = torch::nn::functional;
  const std::vector<torch::Tensor> outputs = {
      torch::randn({4, 3}), torch::randn({4, 3}), torch::randn({4, 3})};
  const auto labels = torch::tensor({0, 2, 1, 2}, torch::kLong);
  const auto ce = [&](size_t i) {
    return F::cross_entropy(outputs[i], labels).item<double>();
  };
  EXPECT_DOUBLE_EQ(
      training_loss(checkpoint::Mode::kCnn, outputs, labels, {}).item<double>(),
      ce(2));
  EXPECT_NEAR(
      training_loss(checkpoint::Mode::kSdn, outputs, labels, {0.25, 0.5})
          .item<double>(),
      ce(2) + 0.25 * ce(0) + 0.5 * ce(1),
      1e-6);
  EXPECT_NEAR(
      training_loss(checkpoint::Mode::kIcOnly, outputs, labels, {})
          .item<double>(),
      ce(0) + ce(1),
      1e-6);
  EXPECT_THROW(
      training_loss(checkpoint::Mode::kSdn, outputs, labels, {0.5}), Error);
  // Mixed: every exit, final included, with the same weight.
  EXPECT_NEAR(
      training_loss(checkpoint::Mode::kMixed, outputs, labels, {})
          .item<double>(),
      (ce(0) + ce(1) + ce(2)) / 3,
      1e-6);
  EXPECT_THROW(
      training_loss(checkpoint::Mode::kMixed, {outputs[2]}, labels, {}), Error);
}

// The distillation term by hand: lambda T^2 mean_i KL(p_final^T || p_i^T),
// batch mean; 0 when an IC equals the final exit; no gradient into the
// final exit; the modes' own losses unchanged beside it.
TEST(TrainingLoss, DistillationAgainstHandComputation) {
  torch::manual_seed(7);
  const auto labels = torch::tensor({1, 0, 2}, torch::kLong);
  const auto final_exit = torch::randn({3, 3}, torch::requires_grad());
  const auto ic0 = torch::randn({3, 3}, torch::requires_grad());
  const auto ic1 = torch::randn({3, 3}, torch::requires_grad());
  const std::vector<torch::Tensor> outputs = {ic0, ic1, final_exit};
  // KL(p || q) of one row by its definition, in double.
  const auto kl = [](const torch::Tensor& p_logits,
                     const torch::Tensor& q_logits,
                     double t) {
    const auto a = p_logits.detach().to(torch::kDouble) / t;
    const auto b = q_logits.detach().to(torch::kDouble) / t;
    double sum = 0;
    for (int64_t n = 0; n < a.size(0); ++n) {
      const auto p = torch::softmax(a[n], 0);
      const auto q = torch::softmax(b[n], 0);
      for (int64_t k = 0; k < a.size(1); ++k) {
        const double pk = p[k].item<double>();
        sum += pk * std::log(pk / q[k].item<double>());
      }
    }
    return sum / static_cast<double>(a.size(0));
  };
  for (const double t : {1.0, 4.0}) {
    const double lambda = 0.7;
    const double expected_term =
        lambda * t * t * (kl(final_exit, ic0, t) + kl(final_exit, ic1, t)) / 2;
    for (const auto mode :
         {checkpoint::Mode::kIcOnly, checkpoint::Mode::kMixed}) {
      const double base =
          training_loss(mode, outputs, labels, {}).item<double>();
      const double with =
          training_loss(mode, outputs, labels, {}, Distillation{lambda, t})
              .item<double>();
      EXPECT_NEAR(with - base, expected_term, 1e-5) << "T " << t;
    }
    const double sdn_base =
        training_loss(checkpoint::Mode::kSdn, outputs, labels, {0.3, 0.6})
            .item<double>();
    EXPECT_NEAR(
        training_loss(
            checkpoint::Mode::kSdn,
            outputs,
            labels,
            {0.3, 0.6},
            Distillation{lambda, t})
                .item<double>() -
            sdn_base,
        expected_term,
        1e-5);
  }
  // ICs equal to the final exit: the term is 0.
  const auto same = final_exit.detach().clone();
  const std::vector<torch::Tensor> equal = {same, same, same};
  EXPECT_NEAR(
      training_loss(
          checkpoint::Mode::kIcOnly, equal, labels, {}, Distillation{2.0, 3.0})
              .item<double>() -
          training_loss(checkpoint::Mode::kIcOnly, equal, labels, {})
              .item<double>(),
      0.0,
      1e-7);
  // The final exit is the teacher: in ic-only mode, where its own loss
  // does not count, it gets no gradient from the term.
  training_loss(
      checkpoint::Mode::kIcOnly, outputs, labels, {}, Distillation{1.0, 2.0})
      .backward();
  EXPECT_FALSE(final_exit.grad().defined());
  EXPECT_TRUE(ic0.grad().defined());
  EXPECT_THROW(
      training_loss(
          checkpoint::Mode::kCnn, outputs, labels, {}, Distillation{1.0, 1.0}),
      Error);
}

TEST(ClearGradients, GivesTheSameUpdatesAsZeroGrad) {
  torch::manual_seed(6);
  torch::nn::Linear a(5, 3);
  torch::nn::Linear b(5, 3);
  {
    torch::NoGradGuard no_grad;
    b->weight.copy_(a->weight);
    b->bias.copy_(a->bias);
  }
  const auto options =
      torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3);
  torch::optim::SGD sgd_a(a->parameters(), options);
  torch::optim::SGD sgd_b(b->parameters(), options);
  for (int step = 0; step < 4; ++step) {
    const auto x = torch::randn({8, 5});
    const auto y = torch::randint(3, {8}, torch::kLong);
    sgd_a.zero_grad();
    torch::nn::functional::cross_entropy(a(x), y).backward();
    sgd_a.step();
    clear_gradients(sgd_b);
    EXPECT_FALSE(b->weight.grad().defined());
    torch::nn::functional::cross_entropy(b(x), y).backward();
    sgd_b.step();
  }
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
  EXPECT_TRUE(torch::equal(a->bias, b->bias));
}

// Records every call as one line: what happened, and the numbers a test
// can check.
class Recorder : public TrainCallback {
 public:
  void on_start(const TrainStart& s) override {
    calls.push_back(str_cat("start ", s.first_epoch, " ", s.world_size));
  }
  void on_resume(const TrainStart& s) override {
    calls.push_back(str_cat("resume ", s.first_epoch, " ", s.world_size));
  }
  void on_phase_begin(const PhaseProgress& p) override {
    calls.push_back(str_cat("begin ", name(p), " ", p.done, "/", p.total));
  }
  void on_progress(const PhaseProgress& p) override {
    // One line per phase and epoch, however many batches it has.
    const std::string line = str_cat("progress ", name(p));
    if (calls.back() != line) {
      calls.push_back(line);
    }
    EXPECT_GT(p.done, last_done_);
    EXPECT_LE(p.done, p.total);
    last_done_ = p.done;
    if (p.phase == Phase::kTrain) {
      EXPECT_TRUE(std::isfinite(p.loss));
    }
  }
  void on_phase_end(const PhaseProgress& p) override {
    calls.push_back(str_cat("end ", name(p), " ", p.done, "/", p.total));
    last_done_ = 0;
    if (p.phase == Phase::kTrain) {
      train_losses.push_back(p.loss);
    }
  }
  void on_epoch_end(const EpochMetrics& m) override {
    calls.push_back(str_cat("epoch ", m.epoch));
    epochs.push_back(m);
  }
  void on_finish(const TrainResult& r) override {
    calls.push_back(
        str_cat("finish ", r.epochs_done, r.finished ? " done" : ""));
  }

  std::vector<std::string> calls;
  std::vector<EpochMetrics> epochs;
  std::vector<double> train_losses;

 private:
  static std::string name(const PhaseProgress& p) {
    return str_cat(
        p.phase == Phase::kTrain ? "train" : "validate",
        " e",
        p.epoch,
        "/",
        p.epochs);
  }
  int64_t last_done_ = 0;
};

// 32 training and 16 validation images of 3 classes; two batches an epoch.
checkpoint::TrainConfig tiny_config(const std::string& out) {
  checkpoint::TrainConfig c;
  c.arch = "resnet56";
  c.mode = checkpoint::Mode::kSdn;
  checkpoint::apply_recipe(c);
  c.data.name = "synthetic";
  c.data.synthetic_train = 48;
  c.data.synthetic_test = 8;
  c.data.synthetic_classes = 3;
  c.data.synthetic_channels = 1;
  c.data.val_size = 16;
  c.epochs = 2;
  c.batch_size = 16;
  c.lr = 0.01;
  c.milestones = {2};
  c.eval_batch_size = 8;
  c.out = out;
  return c;
}

std::vector<nlohmann::json> metrics_lines(const std::string& dir) {
  std::istringstream in(read_file(dir + "/metrics.jsonl"));
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST(Trainer, CallsTheCallbacksInOrderAndWritesWhatTheySaw) {
  torch::set_num_threads(1);
  testing::TempDir tmp("trainer");
  const auto config = tiny_config(tmp.str("run"));
  Trainer trainer(config);
  EXPECT_EQ(trainer.first_epoch(), 1);
  EXPECT_FALSE(trainer.resumed());
  EXPECT_EQ(trainer.network()->num_exits(), 7);
  auto recorder = std::make_shared<Recorder>();
  trainer.add_callback(recorder);
  const auto result = trainer.train();

  EXPECT_EQ(
      recorder->calls,
      (std::vector<std::string>{
          "start 1 1",
          "begin train e1/2 0/32",
          "progress train e1/2",
          "end train e1/2 32/32",
          "begin validate e1/2 0/16",
          "progress validate e1/2",
          "end validate e1/2 16/16",
          "epoch 1",
          "begin train e2/2 0/32",
          "progress train e2/2",
          "end train e2/2 32/32",
          "begin validate e2/2 0/16",
          "progress validate e2/2",
          "end validate e2/2 16/16",
          "epoch 2",
          "finish 2 done"}));
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.epochs_done, 2);
  EXPECT_EQ(result.last_dir, config.out + "/last");
  ASSERT_EQ(result.history.size(), 2u);
  ASSERT_EQ(recorder->epochs.size(), 2u);

  // metrics.jsonl holds exactly what on_epoch_end saw, and so does the
  // sidecar of the last checkpoint.
  const auto lines = metrics_lines(config.out);
  ASSERT_EQ(lines.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    const auto& m = recorder->epochs[e];
    EXPECT_EQ(lines[e], checkpoint::to_json(m));
    EXPECT_EQ(checkpoint::to_json(result.history[e]), checkpoint::to_json(m));
    EXPECT_EQ(m.epoch, static_cast<int64_t>(e + 1));
    EXPECT_EQ(m.loss, recorder->train_losses[e]);
    EXPECT_EQ(m.train_accuracy.size(), 7u);
    EXPECT_EQ(m.val_accuracy.size(), 7u);
    EXPECT_EQ(m.ic_weights.size(), 6u);
  }
  const auto meta = checkpoint::read_checkpoint_meta(result.last_dir);
  EXPECT_EQ(meta.epoch, 2);
  EXPECT_EQ(meta.mode, checkpoint::Mode::kSdn);
  EXPECT_EQ(checkpoint::to_json(meta.metrics), lines[1]);
  EXPECT_EQ(checkpoint::to_json(meta.config), checkpoint::to_json(config));
  EXPECT_TRUE(path_exists(result.best_dir + "/model.pt"));
}

TEST(Trainer, ResumesWhereItStoppedAndSaysSo) {
  torch::set_num_threads(1);
  testing::TempDir tmp("trainer_resume");
  auto config = tiny_config(tmp.str("run"));
  config.stop_after = 1;
  auto first = std::make_shared<Recorder>();
  const auto r1 = run_training(config, {first});
  EXPECT_FALSE(r1.finished);
  EXPECT_EQ(first->calls.back(), "finish 1");

  ResumeOptions resume;
  resume.out_dir = config.out;
  auto trainer = Trainer::resume(resume);
  EXPECT_TRUE(trainer.resumed());
  EXPECT_EQ(trainer.first_epoch(), 2);
  EXPECT_EQ(trainer.config().stop_after, 0);
  EXPECT_EQ(trainer.config().lr, config.lr);
  auto second = std::make_shared<Recorder>();
  trainer.add_callback(second);
  const auto r2 = trainer.train();
  EXPECT_TRUE(r2.finished);
  ASSERT_FALSE(second->calls.empty());
  EXPECT_EQ(second->calls.front(), "resume 2 1");
  EXPECT_EQ(second->calls.back(), "finish 2 done");
  const auto lines = metrics_lines(config.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], checkpoint::to_json(first->epochs[0]));
  EXPECT_EQ(lines[1], checkpoint::to_json(second->epochs[0]));

  // A fresh run refuses the directory; a resume needs one.
  EXPECT_THROW(Trainer{config}, Error);
  resume.out_dir = tmp.str("nothing");
  EXPECT_THROW(Trainer::resume(resume), Error);
  resume.out_dir.clear();
  EXPECT_THROW(Trainer::resume(resume), Error);
}

} // namespace
} // namespace sdn::train

TEST(CheckFiniteWeights, NamesTheFirstBrokenWeight) {
  sdn::network::NetworkOptions o;
  o.backbone.arch = "mobilenet";
  o.backbone.in_channels = 1;
  o.backbone.num_classes = 3;
  sdn::network::SdnNetwork network(o);
  EXPECT_NO_THROW(sdn::train::check_finite_weights(network, 2, "runs/x"));
  {
    torch::NoGradGuard no_grad;
    network->ics()[1]->parameters().back().view(-1)[0] = NAN;
  }
  try {
    sdn::train::check_finite_weights(network, 2, "runs/x");
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("epoch 2: weight 'ic1."), std::string::npos)
        << message;
    EXPECT_NE(
        message.find("not finite (training diverged)"), std::string::npos);
    EXPECT_NE(message.find("runs/x/last"), std::string::npos);
  }
}
