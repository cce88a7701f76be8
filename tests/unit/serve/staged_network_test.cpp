// The three modes over a real (small, untrained) SDN: stage and batch mode
// answer exactly as inference::early_exit_batch does on the same inference
// copy, cnn mode with the final exit's first argmax.
#include "sdn/serve/staged_network.h"

#include "sdn/analysis/exit_policy.h"
#include "sdn/inference/early_exit.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/network/inference_copy.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <vector>

namespace {

using sdn::serve::Admission;
using sdn::serve::Answer;
using sdn::serve::Clock;
using sdn::serve::Engine;
using sdn::serve::EngineOptions;
using sdn::serve::RequestResult;
using sdn::serve::ServeMode;

constexpr int64_t kImages = 24;

struct Fixture {
  sdn::network::SdnNetwork net{nullptr};
  torch::Tensor images; // [kImages, 1, 32, 32], normalised
  std::vector<double> costs;
};

Fixture& fixture() {
  static Fixture f = [] {
    torch::set_num_threads(1);
    Fixture x;
    sdn::network::NetworkOptions o;
    o.backbone.arch = "resnet56";
    o.backbone.in_channels = 1;
    o.backbone.num_classes = 4;
    torch::manual_seed(5);
    x.net = sdn::network::SdnNetwork(o);
    {
      // Small IC weights spread the ICs' confidences, so some exit early.
      torch::NoGradGuard no_grad;
      for (const auto& ic : x.net->ics()) {
        for (auto& p : ic->parameters()) {
          if (p.dim() == 2) {
            p.mul_(0.05);
          }
        }
      }
    }
    x.net->eval();
    x.images = torch::randn({kImages, 1, 32, 32});
    x.costs = sdn::inference::relative_exit_costs(x.net, false);
    return x;
  }();
  return f;
}

// The answers of `mode` for the fixture's images sent as requests of
// `per_request` images, batches of at most `max_batch` rows, images no IC
// takes answered by `rule`.
std::vector<Answer> serve_all(
    ServeMode mode,
    const sdn::analysis::ExitPolicy* policy,
    sdn::analysis::NoExitRule rule,
    int64_t per_request,
    int64_t max_batch) {
  auto& f = fixture();
  const auto model =
      sdn::serve::make_staged_network(mode, *f.net, policy, rule, f.costs);
  EngineOptions o;
  o.max_batch = max_batch;
  o.max_wait = std::chrono::microseconds(0);
  o.queue_limit = kImages;
  Engine engine(*model, o, nullptr);
  std::map<int64_t, RequestResult> results;
  for (int64_t first = 0; first < kImages; first += per_request) {
    const int64_t n = std::min(per_request, kImages - first);
    EXPECT_EQ(
        engine.submit(
            f.images.narrow(0, first, n),
            [&results, first](RequestResult r) {
              results[first] = std::move(r);
            },
            Clock::now()),
        Admission::kAccepted);
  }
  while (engine.step(Clock::now())) {
  }
  std::vector<Answer> answers;
  for (auto& [first, r] : results) {
    EXPECT_TRUE(r.error.empty()) << r.error;
    answers.insert(answers.end(), r.answers.begin(), r.answers.end());
  }
  EXPECT_EQ(static_cast<int64_t>(answers.size()), kImages);
  return answers;
}

} // namespace

TEST(StagedNetwork, ModesParseAndPrint) {
  for (const auto mode :
       {ServeMode::kStage, ServeMode::kBatch, ServeMode::kCnn}) {
    EXPECT_EQ(sdn::serve::parse_serve_mode(sdn::serve::to_string(mode)), mode);
  }
  try {
    sdn::serve::parse_serve_mode("fast");
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--mode"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'fast'"), std::string::npos);
  }
}

// The fixture network's trace of its own images: what fitted policies
// (budget-fit, ensemble) learn from here.
sdn::analysis::ExitTrace own_trace() {
  auto& f = fixture();
  torch::NoGradGuard no_grad;
  const auto outputs = f.net->forward(f.images);
  std::vector<torch::Tensor> probs;
  for (const auto& logits : outputs) {
    probs.push_back(logits.softmax(1));
  }
  const auto stacked = torch::stack(probs, 1).contiguous();
  sdn::analysis::ExitTrace t;
  t.num_samples = stacked.size(0);
  t.num_exits = stacked.size(1);
  t.num_classes = stacked.size(2);
  const float* p = stacked.data_ptr<float>();
  t.probs.assign(p, p + stacked.numel());
  for (int64_t i = 0; i < t.num_samples; ++i) {
    t.labels.push_back(i % t.num_classes);
  }
  t.exit_cost = f.costs;
  return t;
}

// Stage mode (every stage's batch re-formed from the rows that reach it)
// and batch mode answer as early_exit_batch on one batch of all images,
// for every registered policy (at the middle of its grid) and both no-exit
// rules.
TEST(StagedNetwork, StageAndBatchModesAnswerAsEarlyExit) {
  auto& f = fixture();
  sdn::network::InferenceCopyOptions copy;
  auto net = sdn::network::inference_copy(*f.net, copy);
  const auto images = sdn::network::maybe_channels_last(f.images, true);
  const auto trace = own_trace();
  sdn::analysis::FitTraces fit;
  fit.val = &trace;
  fit.train = &trace;
  int64_t early = 0;
  for (const auto& name : sdn::analysis::exit_policy_names()) {
    const auto& type = sdn::analysis::exit_policy_type(name);
    const auto grid = type.grid(f.net->num_exits());
    const auto policy = type.make(grid[grid.size() / 2], fit);
    for (const auto rule :
         {sdn::analysis::NoExitRule::kMostConfident,
          sdn::analysis::NoExitRule::kFinal}) {
      std::vector<int64_t> exit_index;
      std::vector<int64_t> prediction;
      std::vector<float> confidence;
      sdn::inference::early_exit_batch(
          net, images, *policy, rule, exit_index, prediction, &confidence);
      for (const int64_t e : exit_index) {
        early += e < f.net->num_exits() - 1;
      }
      for (const auto mode : {ServeMode::kStage, ServeMode::kBatch}) {
        // All images in one batch per stage: the same arithmetic, bit for
        // bit; and small requests in small batches: the same decisions.
        for (const auto& [per_request, max_batch] :
             {std::pair<int64_t, int64_t>{kImages, kImages}, {5, 7}}) {
          const auto answers =
              serve_all(mode, policy.get(), rule, per_request, max_batch);
          for (size_t i = 0; i < answers.size(); ++i) {
            const auto at = policy->describe() + ", " +
                sdn::analysis::to_string(rule) + ", " +
                sdn::serve::to_string(mode) + " mode, batch " +
                std::to_string(max_batch) + ", image " + std::to_string(i);
            EXPECT_EQ(answers[i].exit, exit_index[i]) << at;
            EXPECT_EQ(answers[i].prediction, prediction[i]) << at;
            EXPECT_NEAR(answers[i].confidence, confidence[i], 1e-5) << at;
            EXPECT_EQ(
                answers[i].cost, f.costs[static_cast<size_t>(exit_index[i])])
                << at;
          }
        }
      }
    }
  }
  EXPECT_GT(early, 0); // the policies let some images go early
}

// CNN mode: the backbone alone, answered at the final exit with its first
// argmax, at cost 1.
TEST(StagedNetwork, CnnModeAnswersWithTheFinalExit) {
  auto& f = fixture();
  sdn::network::InferenceCopyOptions copy;
  auto net = sdn::network::inference_copy(*f.net, copy);
  torch::NoGradGuard no_grad;
  const auto probs =
      net->forward(sdn::network::maybe_channels_last(f.images, true))
          .back()
          .softmax(1);
  const auto answers = serve_all(
      ServeMode::kCnn,
      nullptr,
      sdn::analysis::NoExitRule::kMostConfident,
      3,
      8);
  for (size_t i = 0; i < answers.size(); ++i) {
    const auto row = probs[static_cast<int64_t>(i)];
    EXPECT_EQ(answers[i].prediction, row.argmax().item<int64_t>()) << i;
    EXPECT_NEAR(answers[i].confidence, row.max().item<float>(), 1e-5) << i;
    EXPECT_EQ(answers[i].exit, f.net->num_exits() - 1);
    EXPECT_EQ(answers[i].cost, 1.0);
  }
}

TEST(StagedNetwork, RefusesPoliciesWhereTheyDoNothingAndCnnsForEarlyExit) {
  auto& f = fixture();
  const auto policy = sdn::analysis::make_exit_policy("max-prob", 0.5);
  const auto rule = sdn::analysis::NoExitRule::kMostConfident;
  EXPECT_THROW(
      sdn::serve::make_staged_network(
          ServeMode::kCnn, *f.net, policy.get(), rule, f.costs),
      sdn::Error);
  EXPECT_THROW(
      sdn::serve::make_staged_network(
          ServeMode::kStage, *f.net, nullptr, rule, f.costs),
      sdn::Error);
  EXPECT_THROW(
      sdn::serve::make_staged_network(
          ServeMode::kBatch, *f.net, policy.get(), rule, {1.0}),
      sdn::Error);
  sdn::network::NetworkOptions o = f.net->options();
  o.with_ics = false;
  sdn::network::SdnNetwork cnn(o);
  try {
    sdn::serve::make_staged_network(
        ServeMode::kStage, *cnn, policy.get(), rule, {1.0});
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--mode cnn"), std::string::npos);
  }
  const auto model = sdn::serve::make_staged_network(
      ServeMode::kCnn, *cnn, nullptr, rule, {1.0});
  EXPECT_EQ(model->num_stages(), 1);
  EXPECT_EQ(model->num_exits(), 1);
}
