#include "sdn/serve/engine.h"

#include "sdn/util/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <utility>

namespace sdn::serve {

void EngineOptions::validate() const {
  check(max_batch >= 1, "--max-batch must be >= 1, got ", max_batch);
  check(
      max_wait.count() >= 0,
      "--max-wait-ms must be >= 0, got ",
      static_cast<double>(max_wait.count()) / 1000.0);
  check(queue_limit >= 1, "--queue-limit must be >= 1, got ", queue_limit);
}

// One admitted request: its answers fill in as its rows finish.
struct Engine::Request {
  Completion done;
  Clock::time_point arrival;
  std::vector<Answer> answers;
  std::vector<uint8_t> answered;
  int64_t remaining = 0; // rows not yet answered
  bool finished = false; // done was called (all answered, or failed)
};

Engine::Engine(StagedModel& model, EngineOptions options, Metrics* metrics)
    : model_(model), options_(std::move(options)), metrics_(metrics) {
  options_.validate();
  if (!options_.clock) {
    options_.clock = [] { return Clock::now(); };
  }
  check(
      model_.num_stages() >= 1,
      "serve engine: a model of ",
      model_.num_stages(),
      " stages");
  queues_.resize(static_cast<size_t>(model_.num_stages()));
}

Engine::~Engine() = default;

Admission Engine::submit(
    torch::Tensor images,
    Completion done,
    Clock::time_point arrival) {
  const int64_t n = images.size(0);
  check(n >= 1, "serve engine: a request without images");
  auto request = std::make_shared<Request>();
  request->done = std::move(done);
  request->arrival = arrival;
  request->answers.resize(static_cast<size_t>(n));
  request->answered.assign(static_cast<size_t>(n), 0);
  request->remaining = n;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      return Admission::kStopping;
    }
    if (in_flight_ + n > options_.queue_limit) {
      return Admission::kQueueFull;
    }
    Chunk chunk;
    chunk.state = std::move(images);
    chunk.requests.assign(static_cast<size_t>(n), request);
    chunk.index.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      chunk.index[static_cast<size_t>(i)] = i;
    }
    chunk.queued = options_.clock();
    queues_[0].chunks.push_back(std::move(chunk));
    queues_[0].rows += n;
    in_flight_ += n;
  }
  wake_.notify_one();
  return Admission::kAccepted;
}

void Engine::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

std::vector<int64_t> Engine::queue_rows() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> rows;
  rows.reserve(queues_.size());
  for (const auto& q : queues_) {
    rows.push_back(q.rows);
  }
  return rows;
}

int64_t Engine::in_flight() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

int64_t Engine::ready_stage(Clock::time_point now) const {
  for (auto s = static_cast<int64_t>(queues_.size()) - 1; s >= 0; --s) {
    const Queue& q = queues_[static_cast<size_t>(s)];
    if (q.rows == 0) {
      continue;
    }
    if (stopping_ || q.rows >= options_.max_batch ||
        now >= q.chunks.front().queued + options_.max_wait) {
      return s;
    }
  }
  return -1;
}

std::optional<Clock::time_point> Engine::next_deadline() const {
  std::optional<Clock::time_point> first;
  for (const Queue& q : queues_) {
    if (q.rows > 0) {
      const auto at = q.chunks.front().queued + options_.max_wait;
      if (!first || at < *first) {
        first = at;
      }
    }
  }
  return first;
}

Engine::Taken Engine::take(int64_t stage) {
  Queue& q = queues_[static_cast<size_t>(stage)];
  Taken taken;
  taken.stage = stage;
  std::vector<torch::Tensor> parts;
  while (!q.chunks.empty() &&
         static_cast<int64_t>(taken.index.size()) < options_.max_batch) {
    Chunk& chunk = q.chunks.front();
    const int64_t rows = static_cast<int64_t>(chunk.index.size());
    const int64_t room =
        options_.max_batch - static_cast<int64_t>(taken.index.size());
    const int64_t count = std::min(rows, room);
    // Rows of a request that already failed are dropped, not run.
    int64_t first = 0;
    while (first < count) {
      int64_t end = first;
      const bool live = !chunk.requests[static_cast<size_t>(first)]->finished;
      while (end < count &&
             chunk.requests[static_cast<size_t>(end)]->finished != live) {
        ++end;
      }
      if (live) {
        parts.push_back(chunk.state.narrow(0, first, end - first));
        if (chunk.carry.rows() > 0) {
          taken.batch.carry.append(chunk.carry, first, end - first);
        }
        for (int64_t i = first; i < end; ++i) {
          taken.requests.push_back(chunk.requests[static_cast<size_t>(i)]);
          taken.index.push_back(chunk.index[static_cast<size_t>(i)]);
        }
      }
      first = end;
    }
    q.rows -= count;
    if (count == rows) {
      q.chunks.pop_front();
      continue;
    }
    // Split: the rest of the chunk stays at the front of the queue, as
    // old as it was.
    const auto split = static_cast<std::ptrdiff_t>(count);
    chunk.state = chunk.state.narrow(0, count, rows - count);
    if (chunk.carry.rows() > 0) {
      inference::ExitCarry rest;
      rest.append(chunk.carry, count, rows - count);
      chunk.carry = std::move(rest);
    }
    chunk.requests.erase(
        chunk.requests.begin(), chunk.requests.begin() + split);
    chunk.index.erase(chunk.index.begin(), chunk.index.begin() + split);
  }
  taken.parts = std::move(parts);
  return taken;
}

StepRun Engine::finish(Taken& taken, Clock::time_point now, Calls& calls) {
  StageBatch& batch = taken.batch;
  const auto m = taken.index.size();
  const int64_t stage = taken.stage;
  check(
      batch.exits.size() == m && batch.answers.size() == m,
      "serve engine: stage ",
      stage + 1,
      " answered ",
      batch.exits.size(),
      " of ",
      m,
      " rows");
  StepRun run;
  run.stage = stage;
  run.rows = static_cast<int64_t>(m);
  Chunk rest;
  for (size_t i = 0; i < m; ++i) {
    const auto& request = taken.requests[i];
    if (batch.exits[i] == 0) {
      rest.requests.push_back(request);
      rest.index.push_back(taken.index[i]);
      continue;
    }
    ++run.exited;
    const auto at = static_cast<size_t>(taken.index[i]);
    check(
        request->answered[at] == 0,
        "serve engine: row ",
        at,
        " of a request answered twice");
    Answer answer = batch.answers[i];
    answer.seconds =
        std::chrono::duration<double>(now - request->arrival).count();
    request->answers[at] = answer;
    request->answered[at] = 1;
    if (metrics_ != nullptr) {
      metrics_->record_exit(answer.exit);
    }
    --in_flight_;
    if (--request->remaining == 0) {
      request->finished = true;
      RequestResult result;
      result.answers = std::move(request->answers);
      calls.emplace_back(std::move(request->done), std::move(result));
    }
  }
  std::vector<const Request*> distinct;
  for (const auto& request : taken.requests) {
    if (std::find(distinct.begin(), distinct.end(), request.get()) ==
        distinct.end()) {
      distinct.push_back(request.get());
    }
  }
  run.requests = static_cast<int64_t>(distinct.size());
  if (rest.index.empty()) {
    return run;
  }
  check(
      stage + 1 < static_cast<int64_t>(queues_.size()),
      "serve engine: the last stage left ",
      rest.index.size(),
      " rows unanswered");
  check(
      batch.next.defined() &&
          batch.next.size(0) == static_cast<int64_t>(rest.index.size()) &&
          (batch.carry.rows() == 0 ||
           batch.carry.rows() == static_cast<int64_t>(rest.index.size())),
      "serve engine: stage ",
      stage + 1,
      " passed on a state or carry that does not match its ",
      rest.index.size(),
      " remaining rows");
  rest.state = std::move(batch.next);
  rest.carry = std::move(batch.carry);
  rest.queued = now;
  Queue& next = queues_[static_cast<size_t>(stage + 1)];
  next.rows += static_cast<int64_t>(rest.index.size());
  next.chunks.push_back(std::move(rest));
  return run;
}

void Engine::fail(Taken& taken, const std::string& error, Calls& calls) {
  for (const auto& request : taken.requests) {
    if (request->finished) {
      continue;
    }
    request->finished = true;
    // Its rows still queued elsewhere are dropped when taken; none of them
    // counts as in flight any more.
    in_flight_ -= request->remaining;
    request->remaining = 0;
    RequestResult result;
    result.error = error;
    calls.emplace_back(std::move(request->done), std::move(result));
  }
}

StepRun Engine::run_taken(Taken& taken, std::unique_lock<std::mutex>& lock) {
  StepRun run;
  run.stage = taken.stage;
  Calls calls;
  if (!taken.index.empty()) {
    lock.unlock();
    const auto start = options_.clock();
    std::string error;
    try {
      // One tensor of the batch's rows (outside the lock: a copy).
      taken.batch.input =
          taken.parts.size() == 1 ? taken.parts[0] : torch::cat(taken.parts, 0);
      taken.parts.clear();
      model_.run(taken.stage, taken.batch);
    } catch (const std::exception& e) {
      error = e.what();
    }
    const auto end = options_.clock();
    if (metrics_ != nullptr) {
      metrics_->record_batch(
          taken.stage,
          static_cast<int64_t>(taken.index.size()),
          std::chrono::duration<double>(end - start).count());
    }
    lock.lock();
    if (error.empty()) {
      try {
        run = finish(taken, end, calls);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    if (!error.empty()) {
      run.rows = static_cast<int64_t>(taken.index.size());
      fail(taken, error, calls);
    }
  }
  lock.unlock();
  for (auto& [done, result] : calls) {
    done(std::move(result));
  }
  lock.lock();
  return run;
}

std::optional<StepRun> Engine::step(Clock::time_point now) {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t stage = ready_stage(now);
  if (stage < 0) {
    return std::nullopt;
  }
  Taken taken = take(stage);
  return run_taken(taken, lock);
}

void Engine::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const int64_t stage = ready_stage(options_.clock());
    if (stage >= 0) {
      Taken taken = take(stage);
      run_taken(taken, lock);
      continue;
    }
    // Stopping makes every non-empty stage ready: here the queues are
    // empty.
    if (stopping_) {
      return;
    }
    const auto deadline = next_deadline();
    if (deadline) {
      wake_.wait_until(lock, *deadline);
    } else {
      wake_.wait(lock);
    }
  }
}

} // namespace sdn::serve
