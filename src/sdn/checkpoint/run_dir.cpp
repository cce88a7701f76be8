#include "sdn/checkpoint/run_dir.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <utility>

namespace sdn::checkpoint {

bool has_run(const std::string& dir) {
  return path_exists(dir + "/last/meta.json") ||
      path_exists(dir + "/last.old/meta.json");
}

ResumeState read_resume_state(const std::string& dir) {
  ResumeState state;
  const std::string last = dir + "/last";
  state.network = load_network(last, state.meta);
  state.optimizer_file = resolve_checkpoint_dir(last) + "/optimizer.pt";
  check(
      path_exists(state.optimizer_file),
      state.optimizer_file,
      ": missing optimiser state; cannot resume exactly");
  state.optimizer_state = read_file(state.optimizer_file);
  return state;
}

RunDirectory::RunDirectory(std::string dir) : dir_(std::move(dir)) {}

RunDirectory RunDirectory::resume(
    const std::string& dir,
    const CheckpointMeta& meta) {
  RunDirectory run(dir);
  run.best_val_ = meta.best_val_accuracy;
  const std::string file = run.metrics_file();
  if (!path_exists(file)) {
    return run;
  }
  // Lines are kept as written, so that a resumed run's metrics.jsonl equals
  // an uninterrupted run's byte for byte.
  std::istringstream lines(read_file(file));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      continue;
    }
    const auto j =
        nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("epoch", int64_t{0}) <= meta.epoch) {
      run.metrics_lines_.push_back(line);
    }
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
  write_checkpoint(last(), network, meta, optimizer_state);
  if (is_best) {
    write_checkpoint(best(), network, meta, "");
  }
}

} // namespace sdn::checkpoint
