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

void early_exit_batch(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const analysis::ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    std::vector<int64_t>& exit_index,
    std::vector<int64_t>& prediction) {
  // No autograd bookkeeping at all (cheaper per op than NoGradGuard, which
  // matters at batch size 1, where dispatch overhead dominates).
  c10::InferenceMode inference;
  const int64_t b = images.size(0);
  const int64_t exits = network->num_exits();
  exit_index.assign(static_cast<size_t>(b), exits - 1);
  prediction.assign(static_cast<size_t>(b), -1);
  // Positions (in this batch) of the samples still running, and the most
  // confident answer each has had so far (for the original's no-exit rule).
  // Bookkeeping is plain C++: a handful of tensor ops per exit would cost
  // more than the arithmetic at small batch sizes.
  std::vector<int64_t> active(static_cast<size_t>(b));
  std::iota(active.begin(), active.end(), int64_t{0});
  std::vector<float> best_conf;
  std::vector<int64_t> best_pred;
  std::vector<float> conf;
  std::vector<int64_t> pred;
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(b));
  // Policies that read earlier exits get each remaining sample's latest
  // `depth` rows, [m, held, K], compacted with the batch; a policy that
  // combines() reads every exit's, the final one's too.
  const bool combines = policy.combines();
  const int64_t depth =
      combines ? exits : std::min<int64_t>(policy.history(), exits - 1);
  std::vector<float> history;
  std::vector<float> next_history;
  std::vector<float> combined;
  int64_t held = 0;
  analysis::ExitRows rows;
  rows.num_exits = exits;
  auto state = network->start(images);
  for (int64_t e = 0; e < exits; ++e) {
    auto [logits, next] = network->step(e, state);
    // The same softmax kernel over the same logits as the evaluator's trace,
    // so the decisions below match the trace simulation's; one copy to the
    // CPU per stage.
    const auto probs_t =
        logits.softmax(/*dim=*/1).to(torch::kCPU, torch::kFloat32).contiguous();
    const float* probs = probs_t.data_ptr<float>();
    const int64_t k = probs_t.size(1);
    if (e == 0) {
      policy.check_network(exits, k);
    }
    const auto row_size = static_cast<size_t>(k);
    const size_t m = active.size();
    rows.exit = e;
    rows.num_classes = k;
    const float* view = probs;
    if (depth > 1 && (e < exits - 1 || combines)) {
      // Each sample's rows: its latest held rows (up to depth - 1 of them),
      // then this exit's.
      const int64_t count = std::min(e + 1, depth);
      const auto carried = static_cast<size_t>(count - 1);
      const auto old_rows = static_cast<size_t>(held);
      next_history.resize(m * static_cast<size_t>(count) * row_size);
      for (size_t i = 0; i < m; ++i) {
        float* dst = next_history.data() + i * (carried + 1) * row_size;
        const float* src =
            history.data() + (i * old_rows + (old_rows - carried)) * row_size;
        std::copy(src, src + carried * row_size, dst);
        std::copy(
            probs + i * row_size,
            probs + (i + 1) * row_size,
            dst + carried * row_size);
      }
      history.swap(next_history);
      held = count;
      view = history.data();
    }
    rows.count = depth > 1 ? held : 1;
    const size_t stride = static_cast<size_t>(rows.count) * row_size;
    conf.resize(m);
    pred.resize(m);
    combined.resize(row_size);
    for (size_t i = 0; i < m; ++i) {
      // The first maximum, as the trace's predictions (numpy.argmax), of
      // the exit's softmax or of the policy's combined output.
      const float* row = probs + i * row_size;
      if (combines) {
        rows.probs = view + i * stride;
        policy.combine(rows, combined.data());
        row = combined.data();
      }
      int64_t best = 0;
      for (int64_t c = 1; c < k; ++c) {
        if (row[c] > row[best]) {
          best = c;
        }
      }
      conf[i] = row[best];
      pred[i] = best;
    }
    if (e == 0) {
      best_conf = conf;
      best_pred = pred;
    } else {
      for (size_t i = 0; i < m; ++i) {
        // Strictly greater: ties keep the earlier exit (argmax's first max).
        if (conf[i] > best_conf[i]) {
          best_conf[i] = conf[i];
          best_pred[i] = pred[i];
        }
      }
    }
    if (e == exits - 1) {
      const bool final_rule = no_exit == analysis::NoExitRule::kFinal;
      for (size_t i = 0; i < m; ++i) {
        prediction[static_cast<size_t>(active[i])] =
            final_rule ? pred[i] : best_pred[i];
      }
      break;
    }
    keep.clear();
    for (size_t i = 0; i < m; ++i) {
      rows.probs = view + i * stride;
      rows.top_prob = conf[i];
      rows.top_class = pred[i];
      if (policy.exits(rows)) {
        exit_index[static_cast<size_t>(active[i])] = e;
        prediction[static_cast<size_t>(active[i])] = pred[i];
      } else {
        keep.push_back(static_cast<int64_t>(i));
      }
    }
    if (keep.empty()) {
      return;
    }
    if (keep.size() < m) {
      // Compact: later blocks run on the remaining samples only.
      const auto keep_t =
          torch::from_blob(
              keep.data(), {static_cast<int64_t>(keep.size())}, torch::kLong)
              .to(next.device());
      if (next.dim() == 4 &&
          next.suggest_memory_format() == torch::MemoryFormat::ChannelsLast) {
        // index_select returns a contiguous (NCHW) tensor: select in the
        // NHWC view instead, so the state stays channels-last in one copy.
        next = next.permute({0, 2, 3, 1})
                   .index_select(0, keep_t)
                   .permute({0, 3, 1, 2});
      } else {
        next = next.index_select(0, keep_t);
      }
      for (size_t j = 0; j < keep.size(); ++j) {
        const auto i = static_cast<size_t>(keep[j]);
        active[j] = active[i];
        best_conf[j] = best_conf[i];
        best_pred[j] = best_pred[i];
        if (depth > 1) {
          // keep is increasing, so block i >= j never overlaps block j.
          std::copy(
              history.data() + i * stride,
              history.data() + (i + 1) * stride,
              history.data() + j * stride);
        }
      }
      active.resize(keep.size());
      best_conf.resize(keep.size());
      best_pred.resize(keep.size());
      if (depth > 1) {
        history.resize(keep.size() * stride);
      }
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
