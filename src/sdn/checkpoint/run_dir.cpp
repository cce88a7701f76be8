#include "sdn/checkpoint/run_dir.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <utility>

namespace sdn::checkpoint {

bool has_run(const std::string& dir) {
  for (const char* name : {"/last", "/last.new", "/last.old"}) {
    if (path_exists(dir + name + "/meta.json")) {
      return true;
    }
  }
  return false;
}

const std::vector<std::string>& run_entries() {
  static const std::vector<std::string> names = {
      "last",
      "last.new",
      "last.old",
      "best",
      "best.new",
      "best.old",
      "metrics.jsonl"};
  return names;
}

void remove_run_temporaries(const std::string& dir) {
  if (!path_exists(dir)) {
    return;
  }
  for (const auto& entry : run_entries()) {
    remove_temporaries(dir, entry);
  }
}

ResumeState read_resume_state(const std::string& dir) {
  ResumeState state;
  const std::string last = dir + "/last";
  // Finish a checkpoint swap a kill interrupted (last, then best), so the
  // run continues from its newest complete checkpoint.
  recover_checkpoint_dir(last);
  recover_checkpoint_dir(dir + "/best");
  state.network = load_network(last, state.meta);
  const std::string real = resolve_checkpoint_dir(last);
  state.optimizer_file = real + "/optimizer.pt";
  check(
      path_exists(state.optimizer_file),
      state.optimizer_file,
      ": missing optimiser state; cannot resume exactly");
  state.optimizer_state =
      read_checkpoint_file(real, state.meta, "optimizer.pt");
  return state;
}

RunDirectory::RunDirectory(std::string dir) : dir_(std::move(dir)) {}

RunDirectory RunDirectory::resume(
    const std::string& dir,
    const CheckpointMeta& meta) {
  RunDirectory run(dir);
  run.best_val_ = meta.best_val_accuracy;
  const std::string file = run.metrics_file();
  // Lines are kept as written, so that a resumed run's metrics.jsonl equals
  // an uninterrupted run's byte for byte.
  int64_t last_epoch = 0;
  if (path_exists(file)) {
    std::istringstream lines(read_file(file));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) {
        continue;
      }
      const auto j =
          nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const int64_t epoch = j.is_object() ? j.value("epoch", int64_t{0}) : 0;
      if (j.is_object() && epoch <= meta.epoch) {
        run.metrics_lines_.push_back(line);
        last_epoch = std::max(last_epoch, epoch);
      }
    }
  }
  // The line is written after the checkpoint: a kill or a full disk in
  // between leaves the checkpoint without it. Its sidecar holds the same
  // metrics, whose JSON is the line's bytes.
  if (last_epoch < meta.epoch && meta.metrics.epoch == meta.epoch) {
    run.metrics_lines_.push_back(to_json(meta.metrics).dump());
    run.write_metrics();
  }
  return run;
}

std::string RunDirectory::last() const {
  return dir_ + "/last";
}

std::string RunDirectory::best() const {
  return dir_ + "/best";
}

std::string RunDirectory::metrics_file() const {
  return dir_ + "/metrics.jsonl";
}

bool RunDirectory::update_best(const EpochMetrics& m) {
  const double val_final =
      m.val_accuracy.empty() ? -1.0 : m.val_accuracy.back();
  const bool is_best = m.val_accuracy.empty() || val_final > best_val_;
  if (is_best) {
    best_val_ = val_final;
  }
  return is_best;
}

void RunDirectory::append_metrics(const EpochMetrics& m) {
  metrics_lines_.push_back(to_json(m).dump());
  write_metrics();
}

void RunDirectory::write_metrics() const {
  std::string all;
  for (const auto& line : metrics_lines_) {
    all += line + "\n";
  }
  make_dirs(dir_);
  write_file_atomic(metrics_file(), all);
}

void RunDirectory::write_checkpoints(
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state,
    bool is_best) {
  // `best` first: a kill between the two leaves `last` at the previous
  // epoch, whose resume retrains this epoch (bit-exactly) and writes `best`
  // again. The other order could leave `last` recording a best that `best`
  // never received.
  if (is_best) {
    write_checkpoint(best(), network, meta, "");
  }
  write_checkpoint(last(), network, meta, optimizer_state);
}

} // namespace sdn::checkpoint
