// The stage scheduler on a fake network: each row's state says at which
// stage it exits and carries its own id, which the fake answers with, so a
// row answered for another request, twice, or not at all shows.
#include "sdn/serve/engine.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using sdn::serve::Admission;
using sdn::serve::Clock;
using sdn::serve::Engine;
using sdn::serve::EngineOptions;
using sdn::serve::RequestResult;
using sdn::serve::StageBatch;
using sdn::serve::StagedModel;

// Rows are float [m, 2]: (stage it exits at, its id). A row whose exit
// stage is negative makes the stage throw.
class FakeNetwork final : public StagedModel {
 public:
  explicit FakeNetwork(int64_t stages) : stages_(stages) {}
  int64_t num_stages() const override {
    return stages_;
  }
  int64_t num_exits() const override {
    return stages_;
  }
  void run(int64_t stage, StageBatch& batch) override {
    const auto rows = batch.input.contiguous();
    const int64_t m = rows.size(0);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      calls.emplace_back(stage, m);
    }
    const float* r = rows.data_ptr<float>();
    batch.exits.assign(static_cast<size_t>(m), 0);
    batch.answers.assign(static_cast<size_t>(m), {});
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < m; ++i) {
      const auto exit_at = static_cast<int64_t>(r[2 * i]);
      sdn::check(exit_at >= 0, "fake: row ", r[2 * i + 1], " fails");
      if (exit_at <= stage) {
        batch.exits[static_cast<size_t>(i)] = 1;
        auto& a = batch.answers[static_cast<size_t>(i)];
        a.prediction = static_cast<int64_t>(r[2 * i + 1]);
        a.exit = stage;
      } else {
        keep.push_back(i);
      }
    }
    batch.next = keep.empty() ?
        torch::Tensor() :
        rows.index_select(0, torch::tensor(keep, torch::kLong));
  }
  std::vector<std::pair<int64_t, int64_t>> calls; // (stage, rows)

 private:
  int64_t stages_;
  std::mutex mutex_;
};

// Rows exiting at `exit_stages`, ids first_id, first_id + 1, ...
torch::Tensor rows(const std::vector<int>& exit_stages, int first_id) {
  auto t = torch::empty({static_cast<int64_t>(exit_stages.size()), 2});
  for (size_t i = 0; i < exit_stages.size(); ++i) {
    t[static_cast<int64_t>(i)][0] = exit_stages[i];
    t[static_cast<int64_t>(i)][1] = first_id + static_cast<int>(i);
  }
  return t;
}

// Results by request, each checked to be called once.
struct Results {
  std::mutex mutex;
  std::map<int, std::vector<RequestResult>> by_request;
  sdn::serve::Completion done(int request) {
    return [this, request](RequestResult r) {
      const std::lock_guard<std::mutex> lock(mutex);
      by_request[request].push_back(std::move(r));
    };
  }
  size_t calls(int request) {
    const std::lock_guard<std::mutex> lock(mutex);
    return by_request.count(request) ? by_request[request].size() : 0;
  }
};

// A fake clock the engine reads.
struct FakeClock {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  EngineOptions options(int64_t max_batch, int64_t wait_us, int64_t limit) {
    EngineOptions o;
    o.max_batch = max_batch;
    o.max_wait = std::chrono::microseconds(wait_us);
    o.queue_limit = limit;
    o.clock = [this] { return now; };
    return o;
  }
};

} // namespace

TEST(Engine, OptionsNameTheBadOption) {
  EngineOptions o;
  EXPECT_NO_THROW(o.validate());
  o.max_batch = 0;
  EXPECT_THROW(o.validate(), sdn::Error);
  o.max_batch = 1;
  o.queue_limit = 0;
  try {
    o.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--queue-limit"), std::string::npos);
  }
  o.queue_limit = 1;
  o.max_wait = std::chrono::microseconds(-1);
  EXPECT_THROW(o.validate(), sdn::Error);
}

// Rows that moved on go first: after stage 1 runs, stage 2 runs before
// stage 1 and stage 0 take their next rows.
TEST(Engine, RunsTheDeepestReadyStageFirst) {
  FakeNetwork net(3);
  FakeClock clock;
  Engine engine(net, clock.options(2, 0, 100), nullptr);
  Results results;
  ASSERT_EQ(
      engine.submit(rows({2, 2, 2, 2}, 0), results.done(0), clock.now),
      Admission::kAccepted);
  std::vector<int64_t> stages;
  while (const auto run = engine.step(clock.now)) {
    stages.push_back(run->stage);
    EXPECT_EQ(run->rows, 2);
  }
  EXPECT_EQ(stages, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  ASSERT_EQ(results.calls(0), 1u);
  const auto& answers = results.by_request[0][0].answers;
  ASSERT_EQ(answers.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(answers[static_cast<size_t>(i)].prediction, i);
    EXPECT_EQ(answers[static_cast<size_t>(i)].exit, 2);
  }
  EXPECT_EQ(engine.in_flight(), 0);
}

// A batch takes up to max_batch rows, front first, from any requests; a
// request is answered once, whole, when its last row is.
TEST(Engine, BatchesRowsOfManyRequestsAndAnswersEachWhole) {
  FakeNetwork net(2);
  FakeClock clock;
  Engine engine(net, clock.options(4, 0, 100), nullptr);
  Results results;
  // Request r's rows have ids 10 r + i; the first row of each leaves at
  // stage 0, the others at stage 1.
  for (int r = 0; r < 3; ++r) {
    ASSERT_EQ(
        engine.submit(rows({0, 1, 1}, 10 * r), results.done(r), clock.now),
        Admission::kAccepted);
  }
  EXPECT_EQ(engine.queue_rows(), (std::vector<int64_t>{9, 0}));
  const auto first = engine.step(clock.now);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->stage, 0);
  EXPECT_EQ(first->rows, 4); // request 0's 3 rows and request 1's first
  EXPECT_EQ(first->requests, 2);
  EXPECT_EQ(first->exited, 2);
  EXPECT_EQ(engine.queue_rows(), (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(results.calls(0), 0u); // two of its rows are still running
  // Then: stage 1 (request 0's last two rows: it completes), stage 0
  // (request 1's two, request 2's first two), stage 1, stage 0, stage 1.
  std::vector<std::pair<int64_t, int64_t>> runs;
  while (const auto run = engine.step(clock.now)) {
    runs.emplace_back(run->stage, run->rows);
  }
  EXPECT_EQ(
      runs,
      (std::vector<std::pair<int64_t, int64_t>>{
          {1, 2}, {0, 4}, {1, 3}, {0, 1}, {1, 1}}));
  for (int r = 0; r < 3; ++r) {
    ASSERT_EQ(results.calls(r), 1u) << r;
    const auto& result = results.by_request[r][0];
    EXPECT_TRUE(result.error.empty());
    ASSERT_EQ(result.answers.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      const auto& a = result.answers[static_cast<size_t>(i)];
      EXPECT_EQ(a.prediction, 10 * r + i) << r << "," << i;
      EXPECT_EQ(a.exit, i == 0 ? 0 : 1) << r << "," << i;
    }
  }
  EXPECT_EQ(engine.in_flight(), 0);
  EXPECT_EQ(engine.queue_rows(), (std::vector<int64_t>{0, 0}));
}

// A stage short of a full batch waits until its oldest row has waited
// max_wait; a full batch runs at once.
TEST(Engine, WaitsAtMostMaxWaitForABatchToFill) {
  FakeNetwork net(1);
  FakeClock clock;
  Engine engine(net, clock.options(4, 10000, 100), nullptr);
  Results results;
  const auto t0 = clock.now;
  ASSERT_EQ(
      engine.submit(rows({0, 0, 0}, 0), results.done(0), t0),
      Admission::kAccepted);
  EXPECT_FALSE(engine.step(t0));
  EXPECT_FALSE(engine.step(t0 + std::chrono::microseconds(9999)));
  clock.now = t0 + std::chrono::microseconds(5000);
  ASSERT_EQ(
      engine.submit(rows({0}, 3), results.done(1), clock.now),
      Admission::kAccepted);
  // Now 4 rows: a full batch, no waiting.
  const auto full = engine.step(clock.now);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->rows, 4);
  EXPECT_EQ(results.calls(0), 1u);
  EXPECT_EQ(results.calls(1), 1u);
  clock.now = t0 + std::chrono::microseconds(20000);
  ASSERT_EQ(
      engine.submit(rows({0}, 4), results.done(2), clock.now),
      Admission::kAccepted);
  EXPECT_FALSE(engine.step(clock.now + std::chrono::microseconds(9999)));
  const auto late = engine.step(clock.now + std::chrono::microseconds(10000));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->rows, 1);
  EXPECT_EQ(results.calls(2), 1u);
}

// At most queue_limit images are admitted and unanswered; stop() refuses
// new ones and makes every stage ready.
TEST(Engine, RefusesOverTheQueueLimitAndAfterStop) {
  FakeNetwork net(2);
  FakeClock clock;
  Engine engine(net, clock.options(8, 1000000, 5), nullptr);
  Results results;
  EXPECT_EQ(
      engine.submit(rows({1, 1, 1}, 0), results.done(0), clock.now),
      Admission::kAccepted);
  EXPECT_EQ(
      engine.submit(rows({1, 1, 1}, 3), results.done(1), clock.now),
      Admission::kQueueFull);
  EXPECT_EQ(
      engine.submit(rows({1, 1}, 6), results.done(2), clock.now),
      Admission::kAccepted);
  EXPECT_EQ(engine.in_flight(), 5);
  EXPECT_FALSE(engine.step(clock.now)); // max_wait not reached
  engine.stop();
  EXPECT_EQ(
      engine.submit(rows({0}, 8), results.done(3), clock.now),
      Admission::kStopping);
  // Stopping: every stage is ready at once; everything admitted drains.
  int64_t steps = 0;
  while (engine.step(clock.now)) {
    ++steps;
  }
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(results.calls(0), 1u);
  EXPECT_EQ(results.calls(1), 0u); // refused: never called
  EXPECT_EQ(results.calls(2), 1u);
  EXPECT_EQ(results.calls(3), 0u);
  EXPECT_EQ(engine.in_flight(), 0);
}

// A stage that throws fails the requests of its batch, once each, with
// the error; their rows queued at other stages are dropped unrun; other
// requests go on.
TEST(Engine, AFailingBatchFailsOnlyItsRequests) {
  FakeNetwork net(2);
  FakeClock clock;
  Engine engine(net, clock.options(2, 1000000, 100), nullptr);
  Results results;
  ASSERT_EQ(
      engine.submit(rows({1, 0, -1, 0}, 10), results.done(0), clock.now),
      Admission::kAccepted);
  ASSERT_EQ(
      engine.submit(rows({0, 0}, 20), results.done(1), clock.now),
      Admission::kAccepted);
  // Rows 10 (on to stage 1, which waits for a second row) and 11.
  ASSERT_TRUE(engine.step(clock.now));
  EXPECT_EQ(engine.queue_rows(), (std::vector<int64_t>{4, 1}));
  // Rows 12 and 13: row 12 throws.
  const auto failed = engine.step(clock.now);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->stage, 0);
  EXPECT_EQ(failed->exited, 0);
  ASSERT_EQ(results.calls(0), 1u);
  EXPECT_NE(
      results.by_request[0][0].error.find("fake: row 12 fails"),
      std::string::npos);
  EXPECT_TRUE(results.by_request[0][0].answers.empty());
  // Request 1 runs as before.
  ASSERT_TRUE(engine.step(clock.now));
  ASSERT_EQ(results.calls(1), 1u);
  EXPECT_TRUE(results.by_request[1][0].error.empty());
  EXPECT_EQ(results.by_request[1][0].answers.at(1).prediction, 21);
  EXPECT_EQ(engine.in_flight(), 0);
  // Row 10 of the failed request still waits at stage 1: once its stage is
  // ready it is dropped, not run.
  EXPECT_FALSE(engine.step(clock.now));
  const auto dropped = engine.step(clock.now + std::chrono::seconds(1));
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->rows, 0);
  EXPECT_EQ(engine.queue_rows(), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(net.calls.size(), 3u);
  EXPECT_EQ(results.calls(0), 1u);
}

// The executor thread against submitters on other threads: every row is
// answered once, to its own request; stop() drains and run() returns.
TEST(Engine, ConcurrentRequestsAreAnsweredOnceEachAndStopDrains) {
  constexpr int kThreads = 4;
  constexpr int kRequests = 50;
  FakeNetwork net(4);
  EngineOptions o;
  o.max_batch = 7;
  o.max_wait = std::chrono::microseconds(200);
  o.queue_limit = 1000000;
  sdn::serve::Metrics metrics(4, 4, 7);
  Engine engine(net, o, &metrics);
  Results results;
  std::thread executor([&] { engine.run(); });
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int r = 0; r < kRequests; ++r) {
        const int id = t * kRequests + r;
        std::vector<int> exits;
        for (int i = 0; i < 1 + id % 5; ++i) {
          exits.push_back((id + i) % 4);
        }
        ASSERT_EQ(
            engine.submit(
                rows(exits, 100 * id), results.done(id), Clock::now()),
            Admission::kAccepted);
      }
    });
  }
  for (auto& c : clients) {
    c.join();
  }
  engine.stop();
  executor.join();
  EXPECT_EQ(engine.in_flight(), 0);
  for (int id = 0; id < kThreads * kRequests; ++id) {
    ASSERT_EQ(results.calls(id), 1u) << id;
    const auto& answers = results.by_request[id][0].answers;
    ASSERT_EQ(answers.size(), static_cast<size_t>(1 + id % 5)) << id;
    for (size_t i = 0; i < answers.size(); ++i) {
      EXPECT_EQ(answers[i].prediction, 100 * id + static_cast<int>(i));
      EXPECT_EQ(answers[i].exit, (id + static_cast<int>(i)) % 4);
      EXPECT_GE(answers[i].seconds, 0.0);
    }
  }
  for (const auto& [stage, m] : net.calls) {
    EXPECT_GE(m, 1);
    EXPECT_LE(m, 7);
  }
  // The metrics saw every batch and every exit.
  const std::string text = metrics.render(engine.queue_rows(), 0);
  int64_t answered = 0;
  for (int id = 0; id < kThreads * kRequests; ++id) {
    answered += 1 + id % 5;
  }
  int64_t exits = 0;
  for (int e = 1; e <= 4; ++e) {
    const std::string key =
        "sdn_serve_exits_total{exit=\"" + std::to_string(e) + "\"} ";
    const auto at = text.find(key);
    ASSERT_NE(at, std::string::npos) << text;
    exits += std::stoll(text.substr(at + key.size()));
  }
  EXPECT_EQ(exits, answered);
}
