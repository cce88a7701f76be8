#include "sdn/inference/early_exit.h"

#include "sdn/data/loader.h"
#include "sdn/device/device.h"
#include "sdn/network/inference_copy.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"
#include "sdn/util/format.h"
#include "sdn/util/progress.h"
#include "sdn/util/timer.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace sdn::inference {

void EarlyExitOptions::validate() const {
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(
      device == "cpu" || device.rfind("cuda", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
}

void ExitCarry::keep_rows(const std::vector<int64_t>& keep) {
  const auto stride = static_cast<size_t>(held * num_classes);
  for (size_t j = 0; j < keep.size(); ++j) {
    const auto i = static_cast<size_t>(keep[j]);
    best_conf[j] = best_conf[i];
    best_pred[j] = best_pred[i];
    if (stride > 0) {
      // keep is increasing, so block i >= j never overlaps block j.
      std::copy(
          history.data() + i * stride,
          history.data() + (i + 1) * stride,
          history.data() + j * stride);
    }
  }
  best_conf.resize(keep.size());
  best_pred.resize(keep.size());
  history.resize(keep.size() * stride);
}

void ExitCarry::append(const ExitCarry& other, int64_t first, int64_t count) {
  check(
      first >= 0 && count >= 0 && first + count <= other.rows(),
      "exit carry: rows ",
      first,
      "..",
      first + count,
      " of ",
      other.rows());
  if (rows() == 0) {
    held = other.held;
    num_classes = other.num_classes;
  }
  check(
      held == other.held && num_classes == other.num_classes,
      "exit carry: appending rows of ",
      other.held,
      " exits of ",
      other.num_classes,
      " classes to rows of ",
      held,
      " of ",
      num_classes);
  const auto stride = static_cast<size_t>(held * num_classes);
  const auto from = static_cast<size_t>(first);
  const auto to = static_cast<size_t>(first + count);
  best_conf.insert(
      best_conf.end(),
      other.best_conf.begin() + static_cast<std::ptrdiff_t>(from),
      other.best_conf.begin() + static_cast<std::ptrdiff_t>(to));
  best_pred.insert(
      best_pred.end(),
      other.best_pred.begin() + static_cast<std::ptrdiff_t>(from),
      other.best_pred.begin() + static_cast<std::ptrdiff_t>(to));
  history.insert(
      history.end(),
      other.history.begin() + static_cast<std::ptrdiff_t>(from * stride),
      other.history.begin() + static_cast<std::ptrdiff_t>(to * stride));
}

ExitDecider::ExitDecider(
    const analysis::ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    int64_t num_exits)
    : policy_(policy),
      no_exit_(no_exit),
      exits_(num_exits),
      combines_(policy.combines()),
      // Policies that read earlier exits get each remaining sample's latest
      // `depth` rows, [m, held, K], compacted with the batch; a policy that
      // combines() reads every exit's, the final one's too.
      depth_(
          policy.combines() ?
              num_exits :
              std::min<int64_t>(policy.history(), num_exits - 1)) {
  check(num_exits >= 1, "early exit: expected >= 1 exits, got ", num_exits);
}

void ExitDecider::decide(
    int64_t e,
    const float* probs,
    int64_t m64,
    int64_t k,
    ExitCarry& carry,
    ExitDecisions& out) {
  check(
      e >= 0 && e < exits_,
      "early exit: exit ",
      e,
      " of a network of ",
      exits_,
      " exits");
  const auto m = static_cast<size_t>(m64);
  if (e == 0) {
    policy_.check_network(exits_, k);
    carry.held = 0;
    carry.num_classes = k;
    carry.history.clear();
    carry.best_conf.assign(m, 0.f);
    carry.best_pred.assign(m, 0);
  }
  check(
      carry.rows() == m64 && carry.num_classes == k,
      "early exit: carried state of ",
      carry.rows(),
      " rows of ",
      carry.num_classes,
      " classes for ",
      m64,
      " rows of ",
      k);
  const auto row_size = static_cast<size_t>(k);
  analysis::ExitRows rows;
  rows.num_exits = exits_;
  rows.exit = e;
  rows.num_classes = k;
  const float* view = probs;
  if (depth_ > 1 && (e < exits_ - 1 || combines_)) {
    // Each sample's rows: its latest held rows (up to depth - 1 of them),
    // then this exit's.
    const int64_t count = std::min(e + 1, depth_);
    const auto carried = static_cast<size_t>(count - 1);
    const auto old_rows = static_cast<size_t>(carry.held);
    next_history_.resize(m * static_cast<size_t>(count) * row_size);
    for (size_t i = 0; i < m; ++i) {
      float* dst = next_history_.data() + i * (carried + 1) * row_size;
      const float* src = carry.history.data() +
          (i * old_rows + (old_rows - carried)) * row_size;
      std::copy(src, src + carried * row_size, dst);
      std::copy(
          probs + i * row_size,
          probs + (i + 1) * row_size,
          dst + carried * row_size);
    }
    carry.history.swap(next_history_);
    carry.held = count;
    view = carry.history.data();
  }
  rows.count = depth_ > 1 ? carry.held : 1;
  const size_t stride = static_cast<size_t>(rows.count) * row_size;
  out.exits.assign(m, 0);
  out.prediction.resize(m);
  out.confidence.resize(m);
  combined_.resize(row_size);
  const bool final_exit = e == exits_ - 1;
  const bool final_rule = no_exit_ == analysis::NoExitRule::kFinal;
  for (size_t i = 0; i < m; ++i) {
    // The first maximum, as the trace's predictions (numpy.argmax), of the
    // exit's softmax or of the policy's combined output.
    const float* row = probs + i * row_size;
    if (combines_) {
      rows.probs = view + i * stride;
      policy_.combine(rows, combined_.data());
      row = combined_.data();
    }
    int64_t best = 0;
    for (int64_t c = 1; c < k; ++c) {
      if (row[c] > row[best]) {
        best = c;
      }
    }
    const float conf = row[best];
    // Strictly greater: ties keep the earlier exit (argmax's first max).
    if (e == 0 || conf > carry.best_conf[i]) {
      carry.best_conf[i] = conf;
      carry.best_pred[i] = best;
    }
    if (final_exit) {
      out.exits[i] = 1;
      out.prediction[i] = final_rule ? best : carry.best_pred[i];
      out.confidence[i] = final_rule ? conf : carry.best_conf[i];
      continue;
    }
    rows.probs = view + i * stride;
    rows.top_prob = conf;
    rows.top_class = best;
    out.exits[i] = policy_.exits(rows) ? 1 : 0;
    out.prediction[i] = best;
    out.confidence[i] = conf;
  }
}

torch::Tensor select_rows(
    const torch::Tensor& state,
    const std::vector<int64_t>& keep) {
  std::vector<int64_t> positions = keep;
  const auto keep_t = torch::from_blob(
                          positions.data(),
                          {static_cast<int64_t>(positions.size())},
                          torch::kLong)
                          .to(state.device());
  if (state.dim() == 4 &&
      state.suggest_memory_format() == torch::MemoryFormat::ChannelsLast) {
    // index_select returns a contiguous (NCHW) tensor: select in the NHWC
    // view instead, so the state stays channels-last in one copy.
    return state.permute({0, 2, 3, 1})
        .index_select(0, keep_t)
        .permute({0, 3, 1, 2});
  }
  return state.index_select(0, keep_t);
}

void early_exit_batch(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const analysis::ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    std::vector<int64_t>& exit_index,
    std::vector<int64_t>& prediction,
    std::vector<float>* confidence) {
  // No autograd bookkeeping at all (cheaper per op than NoGradGuard, which
  // matters at batch size 1, where dispatch overhead dominates).
  c10::InferenceMode inference;
  const int64_t b = images.size(0);
  const int64_t exits = network->num_exits();
  exit_index.assign(static_cast<size_t>(b), exits - 1);
  prediction.assign(static_cast<size_t>(b), -1);
  if (confidence != nullptr) {
    confidence->assign(static_cast<size_t>(b), 0.f);
  }
  // Positions (in this batch) of the samples still running. Bookkeeping is
  // plain C++ (ExitDecider): a handful of tensor ops per exit would cost
  // more than the arithmetic at small batch sizes.
  std::vector<int64_t> active(static_cast<size_t>(b));
  std::iota(active.begin(), active.end(), int64_t{0});
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(b));
  ExitDecider decider(policy, no_exit, exits);
  ExitCarry carry;
  ExitDecisions decisions;
  auto state = network->start(images);
  for (int64_t e = 0; e < exits; ++e) {
    auto [logits, next] = network->step(e, state);
    // The same softmax kernel over the same logits as the evaluator's trace,
    // so the decisions match the trace simulation's; one copy to the CPU
    // per stage.
    const auto probs_t =
        logits.softmax(/*dim=*/1).to(torch::kCPU, torch::kFloat32).contiguous();
    const auto m = active.size();
    decider.decide(
        e,
        probs_t.data_ptr<float>(),
        static_cast<int64_t>(m),
        probs_t.size(1),
        carry,
        decisions);
    keep.clear();
    for (size_t i = 0; i < m; ++i) {
      if (decisions.exits[i] != 0) {
        const auto at = static_cast<size_t>(active[i]);
        exit_index[at] = e;
        prediction[at] = decisions.prediction[i];
        if (confidence != nullptr) {
          (*confidence)[at] = decisions.confidence[i];
        }
      } else {
        keep.push_back(static_cast<int64_t>(i));
      }
    }
    if (keep.empty()) {
      return;
    }
    if (keep.size() < m) {
      // Compact: later blocks run on the remaining samples only.
      next = select_rows(next, keep);
      for (size_t j = 0; j < keep.size(); ++j) {
        active[j] = active[static_cast<size_t>(keep[j])];
      }
      active.resize(keep.size());
      carry.keep_rows(keep);
    }
    state = std::move(next);
  }
}

EarlyExitResult run_early_exit(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const analysis::ExitPolicy& policy,
    const std::vector<double>& exit_cost,
    const EarlyExitOptions& options) {
  options.validate();
  const int64_t exits = network->num_exits();
  check(
      static_cast<int64_t>(exit_cost.size()) == exits,
      "exit costs: expected ",
      exits,
      " entries, got ",
      exit_cost.size());
  const torch::Device device = checked_device(options.device);
  // An eval-mode copy, BN folded and channels-last as asked; the caller's
  // network is left as it is.
  network::InferenceCopyOptions copy_options;
  copy_options.fold_batch_norm = options.fold_batch_norm;
  copy_options.channels_last = options.channels_last;
  copy_options.device = options.device;
  auto net = network::inference_copy(*network, copy_options);
  const int64_t n = dataset.size();
  EarlyExitResult result;
  result.policy = policy.name();
  result.param = policy.param();
  result.description = policy.describe();
  result.batch_size = options.batch_size;
  result.exit_cost = exit_cost;
  result.exit_index.assign(static_cast<size_t>(n), -1);
  result.prediction.assign(static_cast<size_t>(n), -1);
  result.exit_counts.assign(static_cast<size_t>(exits), 0);
  data::LoaderOptions lo;
  lo.batch_size = options.batch_size;
  data::BatchLoader loader(dataset, info, lo);
  Progress progress("early exit", n, "img", options.progress);
  data::Batch batch;
  std::vector<int64_t> idx;
  std::vector<int64_t> pred;
  double seconds = 0;
  while (loader.next(batch)) {
    Timer timer;
    const auto images = network::maybe_channels_last(
        batch.images.to(device), options.channels_last);
    early_exit_batch(net, images, policy, options.no_exit, idx, pred);
    if (device.is_cuda()) {
      torch::cuda::synchronize();
    }
    seconds += timer.seconds();
    const auto* pos = batch.indices.data_ptr<int64_t>();
    for (size_t i = 0; i < idx.size(); ++i) {
      result.exit_index[static_cast<size_t>(pos[i])] = idx[i];
      result.prediction[static_cast<size_t>(pos[i])] = pred[i];
    }
    progress.advance(static_cast<int64_t>(idx.size()));
  }
  progress.finish();
  const auto* labels = dataset.labels.data_ptr<int64_t>();
  int64_t correct = 0;
  double cost = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto e =
        static_cast<size_t>(result.exit_index[static_cast<size_t>(i)]);
    ++result.exit_counts[e];
    cost += exit_cost[e];
    correct += result.prediction[static_cast<size_t>(i)] == labels[i];
  }
  result.accuracy = n ? 100.0 * correct / n : 0.0;
  result.cost = n ? cost / n : 0.0;
  result.seconds = seconds;
  result.images_per_second = seconds > 0 ? n / seconds : 0.0;
  return result;
}

nlohmann::json early_exit_json(const EarlyExitResult& r) {
  nlohmann::json j = {
      {"policy", r.policy},
      {"param", r.param},
      {"accuracy", r.accuracy},
      {"cost", r.cost},
      {"exit_counts", r.exit_counts},
      {"seconds", r.seconds},
      {"images_per_second", r.images_per_second},
      {"batch_size", r.batch_size}};
  if (r.policy == analysis::kMaxProbPolicy) {
    j["threshold"] = r.param; // the key `sdn exit --json` always had
  }
  return j;
}

void print_early_exit(
    std::ostream& out,
    const EarlyExitResult& r,
    const std::string& split) {
  int64_t n = 0;
  for (const int64_t c : r.exit_counts) {
    n += c;
  }
  out << str_printf(
      "early exit: %s, batch size %lld, %s split (%lld images)\n",
      r.description.c_str(),
      static_cast<long long>(r.batch_size),
      split.c_str(),
      static_cast<long long>(n));
  out << str_printf("accuracy        %.2f %%\n", r.accuracy);
  out << str_printf(
      "relative cost   %.3f of the CNN (FLOPs, paper counting)\n", r.cost);
  out << str_printf(
      "wall-clock      %.3f s, %.1f images/s\n",
      r.seconds,
      r.images_per_second);
  out << str_printf("%-8s %8s %8s %9s\n", "exit", "samples", "share", "cost");
  for (size_t e = 0; e < r.exit_counts.size(); ++e) {
    const bool final = e + 1 == r.exit_counts.size();
    const std::string name = final ? "final" : "IC" + std::to_string(e + 1);
    out << str_printf(
        "%-8s %8lld %7.1f%% %9.3f\n",
        name.c_str(),
        static_cast<long long>(r.exit_counts[e]),
        n > 0 ? 100.0 * static_cast<double>(r.exit_counts[e]) /
                static_cast<double>(n) :
                0.0,
        e < r.exit_cost.size() ? r.exit_cost[e] : 0.0);
  }
}

} // namespace sdn::inference
