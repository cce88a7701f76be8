#include "sdn/inference/bench.h"

#include "sdn/device/device.h"
#include "sdn/inference/early_exit.h"
#include "sdn/network/inference_copy.h"
#include "sdn/network/memory_format.h"
#include "sdn/util/error.h"
#include "sdn/util/format.h"
#include "sdn/util/timer.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>

namespace sdn::inference {

void ExitBenchOptions::validate() const {
  check(!batch_sizes.empty(), "--batch-sizes must not be empty");
  for (const int64_t b : batch_sizes) {
    check(b > 0, "--batch-sizes must be positive, got ", b);
  }
  check(samples > 0 && samples_batch1 > 0, "--samples must be > 0");
  check(repetitions > 0, "--repetitions must be > 0, got ", repetitions);
  check(
      threshold >= 0 && threshold <= 1,
      "--threshold must be in [0,1], got ",
      threshold);
}

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One build of the networks: inference copies of the SDN and of its CNN,
// and the images in the matching layout.
struct Build {
  std::string name;
  network::SdnNetwork sdn{nullptr};
  network::SdnNetwork cnn{nullptr};
  torch::Tensor images;
};

Build make_build(
    const network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::string& name,
    bool fold,
    bool channels_last,
    const std::string& device) {
  network::InferenceCopyOptions o;
  o.fold_batch_norm = fold;
  o.channels_last = channels_last;
  o.device = device;
  // The plain CNN is the SDN's own backbone without its ICs.
  auto cnn_options = network->options();
  cnn_options.with_ics = false;
  network::SdnNetwork cnn(cnn_options);
  cnn->copy_backbone_from(*network);
  Build b;
  b.name = name;
  b.sdn = network::inference_copy(*network, o);
  b.cnn = network::inference_copy(*cnn, o);
  b.images = network::maybe_channels_last(
      images.to(torch::Device(device)), channels_last);
  return b;
}

struct Variant {
  std::string name;
  const Build* build;
  double relative_cost;
  std::function<void(const torch::Tensor&)> run_batch;
  std::vector<double> runs = {};
};

// Runs `v` over the first `count` images in batches of `b`.
void pass(const Variant& v, int64_t count, int64_t b, bool cuda) {
  const auto& images = v.build->images;
  for (int64_t start = 0; start < count; start += b) {
    v.run_batch(images.narrow(0, start, std::min(b, count - start)));
  }
  if (cuda) {
    torch::cuda::synchronize();
  }
}

} // namespace

std::vector<ExitBenchRow> bench_exit(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    const ExitBenchOptions& options) {
  options.validate();
  check(
      network->num_ics() > 0, "bench exit needs an SDN checkpoint (with ICs)");
  check(
      static_cast<int64_t>(exit_cost.size()) == network->num_exits(),
      "exit costs: expected ",
      network->num_exits(),
      " entries, got ",
      exit_cost.size());
  const bool cuda = checked_device(options.device).is_cuda();
  std::vector<Build> builds;
  builds.push_back(make_build(
      network,
      images,
      "optimised",
      options.fold_batch_norm,
      options.channels_last,
      options.device));
  if (options.compare_plain) {
    builds.push_back(make_build(
        network, images, "plain", /*fold=*/false, false, options.device));
  }
  const auto policy =
      analysis::make_exit_policy(analysis::kMaxProbPolicy, options.threshold);
  const auto rule = analysis::NoExitRule::kMostConfident;

  std::vector<ExitBenchRow> rows;
  std::vector<int64_t> idx;
  std::vector<int64_t> pred;
  for (const int64_t b : options.batch_sizes) {
    const int64_t count = std::min<int64_t>(
        images.size(0), b == 1 ? options.samples_batch1 : options.samples);
    // The early-exit cost of these very images, for the FLOPs column.
    double cost = 0;
    for (int64_t start = 0; start < count; start += 256) {
      auto& first = builds.front();
      early_exit_batch(
          first.sdn,
          first.images.narrow(0, start, std::min<int64_t>(256, count - start)),
          *policy,
          rule,
          idx,
          pred);
      for (const int64_t e : idx) {
        cost += exit_cost[static_cast<size_t>(e)];
      }
    }
    cost /= static_cast<double>(count);

    std::vector<Variant> variants;
    for (auto& build : builds) {
      auto* bp = &build;
      variants.push_back({"cnn", bp, 1.0, [bp](const torch::Tensor& x) {
                            c10::InferenceMode inference;
                            bp->cnn->forward(x);
                          }});
      variants.push_back(
          {"sdn-all-exits", bp, exit_cost.back(), [bp](const torch::Tensor& x) {
             c10::InferenceMode inference;
             bp->sdn->forward(x);
           }});
      variants.push_back(
          {"early-exit", bp, cost, [&, bp](const torch::Tensor& x) {
             early_exit_batch(bp->sdn, x, *policy, rule, idx, pred);
           }});
    }
    for (const auto& v : variants) {
      pass(v, count, b, cuda); // warm-up
    }
    for (int64_t r = 0; r < options.repetitions; ++r) {
      for (auto& v : variants) {
        Timer timer;
        pass(v, count, b, cuda);
        v.runs.push_back(static_cast<double>(count) / timer.seconds());
      }
    }
    std::vector<ExitBenchRow> batch_rows;
    for (const auto& v : variants) {
      ExitBenchRow row;
      row.variant = v.name;
      row.build = v.build->name;
      row.batch_size = b;
      row.images_per_second = median(v.runs);
      row.relative_cost = v.relative_cost;
      row.runs = v.runs;
      batch_rows.push_back(row);
    }
    auto find = [&](const std::string& variant, const std::string& build) {
      for (const auto& r : batch_rows) {
        if (r.variant == variant && r.build == build) {
          return &r;
        }
      }
      return static_cast<const ExitBenchRow*>(nullptr);
    };
    for (auto& row : batch_rows) {
      row.relative_time =
          find("cnn", row.build)->images_per_second / row.images_per_second;
      const auto* plain = find(row.variant, "plain");
      if (plain != nullptr && row.build != "plain") {
        row.speedup_over_plain =
            row.images_per_second / plain->images_per_second;
      }
      rows.push_back(row);
    }
  }
  return rows;
}

std::vector<StageRow> bench_stages(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    int64_t batch_size,
    const ExitBenchOptions& options) {
  options.validate();
  check(batch_size > 0, "--stages batch size must be > 0, got ", batch_size);
  check(
      static_cast<int64_t>(exit_cost.size()) == network->num_exits(),
      "exit costs: expected ",
      network->num_exits(),
      " entries, got ",
      exit_cost.size());
  const bool cuda = checked_device(options.device).is_cuda();
  auto build = make_build(
      network,
      images,
      "optimised",
      options.fold_batch_norm,
      options.channels_last,
      options.device);
  const auto x = build.images.narrow(
      0, 0, std::min<int64_t>(batch_size, build.images.size(0)));
  const int64_t exits = build.sdn->num_exits();
  c10::InferenceMode inference;
  auto sync = [&] {
    if (cuda) {
      torch::cuda::synchronize();
    }
  };
  std::vector<std::vector<double>> stage_runs(static_cast<size_t>(exits));
  std::vector<double> cnn_runs;
  for (int64_t r = 0; r <= options.repetitions; ++r) { // r = 0: warm-up
    Timer cnn_timer;
    build.cnn->forward(x);
    sync();
    const double cnn_seconds = cnn_timer.seconds();
    Timer timer;
    auto state = build.sdn->start(x);
    for (int64_t e = 0; e < exits; ++e) {
      state = build.sdn->step(e, state).second;
      sync();
      const double t = timer.seconds();
      timer.reset();
      if (r > 0) {
        stage_runs[static_cast<size_t>(e)].push_back(t);
      }
    }
    if (r > 0) {
      cnn_runs.push_back(cnn_seconds);
    }
  }
  const double cnn = median(cnn_runs);
  std::vector<StageRow> rows;
  double cumulative = 0;
  for (int64_t e = 0; e < exits; ++e) {
    StageRow row;
    row.exit = e;
    row.seconds = median(stage_runs[static_cast<size_t>(e)]);
    cumulative += row.seconds;
    row.cumulative_time = cumulative / cnn;
    row.cumulative_cost = exit_cost[static_cast<size_t>(e)];
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json bench_exit_json(const std::vector<ExitBenchRow>& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : rows) {
    j.push_back(
        {{"variant", r.variant},
         {"build", r.build},
         {"batch_size", r.batch_size},
         {"images_per_second", r.images_per_second},
         {"relative_time", r.relative_time},
         {"relative_cost", r.relative_cost},
         {"speedup_over_plain", r.speedup_over_plain},
         {"runs", r.runs}});
  }
  return j;
}

void print_bench_exit(
    std::ostream& out,
    const std::vector<ExitBenchRow>& rows,
    const ExitBenchOptions& options,
    const std::string& arch,
    int64_t threads) {
  out << str_printf(
      "threshold %.3f, %s, %lld threads; optimised build: %s, %s\n",
      options.threshold,
      arch.c_str(),
      static_cast<long long>(threads),
      options.fold_batch_norm ? "BN folded" : "BN unfolded",
      options.channels_last ? "channels-last" : "NCHW");
  out << str_printf(
      "%-14s %-10s %6s %12s %12s %13s %10s\n",
      "variant",
      "build",
      "batch",
      "images/s",
      "time vs CNN",
      "FLOPs vs CNN",
      "vs plain");
  for (const auto& r : rows) {
    out << str_printf(
        "%-14s %-10s %6lld %12.1f %12.3f %13.3f",
        r.variant.c_str(),
        r.build.c_str(),
        static_cast<long long>(r.batch_size),
        r.images_per_second,
        r.relative_time,
        r.relative_cost);
    if (r.speedup_over_plain > 0) {
      out << str_printf(" %9.2fx", r.speedup_over_plain);
    }
    out << "\n";
  }
}

nlohmann::json stages_json(const std::vector<StageRow>& rows) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : rows) {
    j.push_back(
        {{"exit", r.exit},
         {"seconds", r.seconds},
         {"cumulative_time", r.cumulative_time},
         {"cumulative_cost", r.cumulative_cost}});
  }
  return j;
}

void print_stages(
    std::ostream& out,
    const std::vector<StageRow>& rows,
    const ExitBenchOptions& options,
    int64_t batch_size) {
  out << str_printf(
      "stages at batch %lld (%s, %s), no sample exits; cumulative vs the "
      "CNN's forward\n",
      static_cast<long long>(batch_size),
      options.fold_batch_norm ? "BN folded" : "BN unfolded",
      options.channels_last ? "channels-last" : "NCHW");
  out << str_printf(
      "%-8s %12s %14s %14s\n",
      "exit",
      "stage ms",
      "time vs CNN",
      "FLOPs vs CNN");
  for (const auto& r : rows) {
    const bool final = r.exit + 1 == static_cast<int64_t>(rows.size());
    const std::string name =
        final ? "final" : "IC" + std::to_string(r.exit + 1);
    out << str_printf(
        "%-8s %12.2f %14.3f %14.3f\n",
        name.c_str(),
        1e3 * r.seconds,
        r.cumulative_time,
        r.cumulative_cost);
  }
}

} // namespace sdn::inference
