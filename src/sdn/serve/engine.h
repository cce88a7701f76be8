#pragma once

// The serving engine of `sdn serve` (docs/serving.md#the-engine): requests'
// images wait in per-stage queues, and one executor thread runs batches of
// rows from any requests, stage by stage, answering the rows that exit and
// moving the rest, with their intermediate activations and exit state, to
// the next stage's queue. Re-batching per stage is E3's (Ayala et al., "E3:
// Early Exits for Efficient Inference Serving", SOSP 2024): an early-exit
// network loses its batch to exits, so each stage forms its own batch from
// whatever rows wait there. The network is behind StagedModel, so the
// scheduler runs (and is tested) on any model cut into stages; one stage
// running the whole network is plain dynamic batching.

#include "sdn/inference/early_exit.h"
#include "sdn/serve/metrics.h"

#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sdn::serve {

using Clock = std::chrono::steady_clock;

/// One image's answer.
struct Answer {
  int64_t prediction = -1; ///< The class, in [0, K).
  /// The top probability of the output that answered (float32).
  float confidence = 0;
  /// The exit the image left at, 0-based: E-1 = the final exit (also when
  /// the no-exit rule answered with an earlier exit's output).
  int64_t exit = 0;
  double cost = 0; ///< Relative to the CNN: the exit's cumulative cost.
  /// Seconds from the request's arrival to this image's answer.
  double seconds = 0;
};

/// A batch of one stage, as the model sees it. In: `input` and `carry`;
/// out: `exits`, `answers`, `next`, and `carry` again.
struct StageBatch {
  /// [m, ...] on the model's device: normalised images [m, C, H, W] at
  /// stage 0, the state the previous stage left after that.
  torch::Tensor input;
  /// The m rows' exit state (empty at stage 0, or when the model carries
  /// none); on return, that of the rows that continue, in order, or empty.
  inference::ExitCarry carry;
  std::vector<uint8_t> exits; ///< [m] out: 1 = the row is answered.
  std::vector<Answer> answers; ///< [m] out: read where exits[i] is 1.
  /// Out: [rows that continue, ...] in order; undefined when none does.
  torch::Tensor next;
};

/// A network cut into stages: what the engine runs.
class StagedModel {
 public:
  virtual ~StagedModel() = default;
  /// Stages, >= 1. The last one answers every row.
  virtual int64_t num_stages() const = 0;
  /// Exits of the network (E; answers' `exit` is below it).
  virtual int64_t num_exits() const = 0;
  /// Runs `stage` over batch.input (m >= 1 rows) and fills the outputs.
  /// Called from one thread at a time. May throw: the engine then fails
  /// the requests of the batch's rows.
  virtual void run(int64_t stage, StageBatch& batch) = 0;
};

/// How the engine batches and admits.
struct EngineOptions {
  int64_t max_batch = 32; ///< Most rows in one stage batch, >= 1.
  /// How long a stage's oldest row may wait for its batch to fill before
  /// the stage runs anyway (>= 0; 0: at once).
  std::chrono::microseconds max_wait{2000};
  /// Most images admitted and not yet answered, in total, >= 1: a request
  /// that would exceed it is refused (Admission::kQueueFull).
  int64_t queue_limit = 256;
  /// The time source (default: steady_clock::now). Tests drive step()
  /// with their own times instead.
  std::function<Clock::time_point()> clock;

  /// Throws sdn::Error naming the option (--max-batch, --max-wait-ms,
  /// --queue-limit) of the first bad value.
  void validate() const;
};

/// What a request gets back, once.
struct RequestResult {
  /// Empty on success; else why the request failed (its batch threw).
  std::string error;
  std::vector<Answer> answers; ///< One per image, in the request's order.
};

/// Called once per admitted request with its result, from the thread that
/// runs the engine (run() or step()), outside the engine's lock.
using Completion = std::function<void(RequestResult)>;

/// What submit() did with a request.
enum class Admission {
  kAccepted, ///< Queued; its Completion will be called.
  kQueueFull, ///< Over EngineOptions::queue_limit: try again later.
  kStopping, ///< stop() was called: no new work.
};

/// What one step() ran.
struct StepRun {
  int64_t stage = 0; ///< 0-based.
  int64_t rows = 0; ///< Rows in the batch.
  int64_t exited = 0; ///< Of them, answered at this stage.
  int64_t requests = 0; ///< Distinct requests in the batch.
};

/// The scheduler. Rows wait in one FIFO queue per stage; a stage is ready
/// when it holds max_batch rows, when its oldest row has waited max_wait,
/// or once stop() was called. The executor runs the deepest ready stage
/// first (rows closest to their answer go first; with max_wait 0 that is
/// the deepest non-empty stage), taking up to max_batch rows front first,
/// from any requests (a request's rows may be split across batches). Rows
/// carry their request and their position in it, so answers go only to
/// their own request, each once; a request completes when its last row is
/// answered. Thread-safe: submit(), stop() and the observers from any
/// thread; run() (or step()) from one.
class Engine {
 public:
  /// `model` and `metrics` (may be null) must outlive the engine.
  Engine(StagedModel& model, EngineOptions options, Metrics* metrics);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Queues the request of `images` (N >= 1 rows of stage 0's input) that
  /// arrived at `arrival`. kAccepted: `done` will be called once with N
  /// answers (or an error); otherwise it is never called.
  Admission submit(
      torch::Tensor images,
      Completion done,
      Clock::time_point arrival);

  /// The executor: runs ready stages, waits for work or a stage's deadline
  /// otherwise, until stop() was called and every admitted row is answered.
  void run();

  /// Stops admitting (submit() returns kStopping); run() returns once what
  /// was admitted is answered. Idempotent.
  void stop();

  /// Runs one batch of the deepest stage ready at `now`, if any: what
  /// run() does each time it wakes (rows it passes on are queued at
  /// options().clock()). For tests with their own clock. A batch whose
  /// rows all belong to failed requests runs nothing (rows 0).
  std::optional<StepRun> step(Clock::time_point now);

  /// Rows waiting in each stage's queue.
  std::vector<int64_t> queue_rows() const;
  /// Images admitted and not yet answered.
  int64_t in_flight() const;
  /// The options as validated.
  const EngineOptions& options() const {
    return options_;
  }

 private:
  struct Request;
  // Rows of one request that travel together: rows[i] is state row i.
  struct Chunk {
    torch::Tensor state;
    inference::ExitCarry carry;
    std::vector<std::shared_ptr<Request>> requests;
    std::vector<int64_t> index; // each row's position in its request
    Clock::time_point queued;
  };
  struct Queue {
    std::deque<Chunk> chunks;
    int64_t rows = 0;
  };
  // A batch taken from a queue, its rows' owners beside it.
  struct Taken {
    int64_t stage = -1;
    std::vector<torch::Tensor> parts; // the rows' state, chunk by chunk
    StageBatch batch;
    std::vector<std::shared_ptr<Request>> requests;
    std::vector<int64_t> index;
  };
  // Completions to call once the lock is released.
  using Calls = std::vector<std::pair<Completion, RequestResult>>;

  int64_t ready_stage(Clock::time_point now) const; // -1: none
  std::optional<Clock::time_point> next_deadline() const;
  Taken take(int64_t stage);
  StepRun finish(Taken& taken, Clock::time_point now, Calls& calls);
  void fail(Taken& taken, const std::string& error, Calls& calls);
  StepRun run_taken(Taken& taken, std::unique_lock<std::mutex>& lock);

  StagedModel& model_;
  EngineOptions options_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Queue> queues_;
  int64_t in_flight_ = 0;
  bool stopping_ = false;
};

} // namespace sdn::serve
