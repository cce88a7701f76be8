#include "sdn/train/trainer.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/data/loader.h"
#include "sdn/data/trigger.h"
#include "sdn/device/device.h"
#include "sdn/inference/evaluator.h"
#include "sdn/network/memory_format.h"
#include "sdn/train/schedules.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/progress.h"
#include "sdn/util/timer.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>

namespace sdn::train {

namespace {

// Derives an independent 64-bit seed for (seed, stream) (splitmix64), so that
// every epoch's random streams depend only on the run's seed and the epoch.
uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) {
    torch::cuda::manual_seed_all(seed);
  }
}

std::string format_list(const std::vector<double>& v, int precision) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(precision);
  for (size_t i = 0; i < v.size(); ++i) {
    out << (i ? " " : "") << v[i];
  }
  return out.str();
}

// The state of one run: everything an epoch needs.
class Run {
 public:
  Run(checkpoint::TrainConfig config,
      const TrainHooks& hooks,
      const DistributedOptions& distributed)
      : config_(std::move(config)),
        hooks_(hooks),
        device_(checked_device(device_for_rank(config_.device, distributed))),
        comm_(distributed, device_.str()) {
    if (!comm_.is_main()) {
      hooks_.print_table = false;
      hooks_.progress = false;
    }
  }

  void prepare_fresh() {
    load_data();
    seed_everything(config_.seed);
    network::NetworkOptions options;
    options.backbone.arch = config_.arch;
    options.backbone.in_channels = splits_.info.channels;
    options.backbone.input_side = splits_.info.side;
    options.backbone.num_classes = splits_.info.num_classes;
    options.with_ics = config_.mode != checkpoint::Mode::kCnn;
    // The backbone is built first from the same seed, so an SDN run starts
    // from exactly the CNN run's initial backbone (spec 8.1).
    net_ = network::SdnNetwork(options);
    if (config_.mode == checkpoint::Mode::kIcOnly) {
      checkpoint::CheckpointMeta from_meta;
      auto cnn = checkpoint::load_network(config_.from, from_meta);
      check(
          !from_meta.with_ics() && from_meta.mode() == checkpoint::Mode::kCnn,
          "--from ",
          config_.from,
          ": IC-only training needs a CNN checkpoint, got a ",
          checkpoint::mode_name(from_meta.mode()),
          " checkpoint");
      check(
          from_meta.arch() == config_.arch,
          "--from ",
          config_.from,
          ": checkpoint is a ",
          from_meta.arch(),
          ", but --arch is ",
          config_.arch);
      const auto cnn_options = from_meta.network_options().backbone;
      check(
          cnn_options.in_channels == options.backbone.in_channels &&
              cnn_options.input_side == options.backbone.input_side &&
              cnn_options.num_classes == options.backbone.num_classes,
          "--from ",
          config_.from,
          ": checkpoint was trained on ",
          from_meta.dataset(),
          ", whose input shape or classes differ from ",
          config_.data.name);
      net_->copy_backbone_from(*cnn);
    }
    build_optimizer();
  }

  void prepare_resume(const std::string& out_dir) {
    checkpoint::CheckpointMeta meta;
    const std::string last = out_dir + "/last";
    net_ = checkpoint::load_network(last, meta);
    const auto saved = meta.config();
    config_.arch = saved.arch;
    const std::string device = config_.device;
    const int64_t stop_after = config_.stop_after;
    config_ = saved;
    config_.device = device;
    config_.stop_after = stop_after;
    config_.out = out_dir;
    load_data();
    build_optimizer();
    const std::string opt_file =
        checkpoint::resolve_checkpoint_dir(last) + "/optimizer.pt";
    check(
        path_exists(opt_file),
        opt_file,
        ": missing optimiser state; cannot resume exactly");
    try {
      std::istringstream in(read_file(opt_file));
      torch::serialize::InputArchive archive;
      archive.load_from(in);
      optimizer_->load(archive);
    } catch (const c10::Error& e) {
      fail(
          opt_file,
          ": corrupt optimiser state (",
          e.what_without_backtrace(),
          ")");
    }
    start_epoch_ = meta.epoch() + 1;
    best_val_ = meta.json.value("best_val_accuracy", -1.0);
    // Keep the metrics of the epochs the checkpoint holds.
    const std::string metrics_file = out_dir + "/metrics.jsonl";
    if (path_exists(metrics_file)) {
      std::istringstream lines(read_file(metrics_file));
      std::string line;
      while (std::getline(lines, line)) {
        if (line.empty()) {
          continue;
        }
        auto j =
            nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.value("epoch", int64_t{0}) < start_epoch_) {
          metrics_lines_.push_back(line);
        }
      }
    }
  }

  TrainResult train() {
    net_->to(device_);
    if (config_.channels_last) {
      network::to_channels_last(*net_);
    }
    if (config_.mode == checkpoint::Mode::kIcOnly) {
      for (auto& p : net_->backbone_parameters()) {
        p.set_requires_grad(false);
      }
    }
    sync_initial_state();
    if (comm_.is_main()) {
      make_dirs(config_.out);
    }
    TrainResult result;
    result.last_dir = config_.out + "/last";
    result.best_dir = config_.out + "/best";
    result.epochs_done = start_epoch_ - 1;
    if (hooks_.print_table) {
      print_header();
    }
    int64_t ran = 0;
    for (int64_t epoch = start_epoch_; epoch <= config_.epochs; ++epoch) {
      if (config_.stop_after > 0 && ran >= config_.stop_after) {
        break;
      }
      EpochMetrics m = run_epoch(epoch);
      validate_epoch(m);
      save(epoch, m);
      if (hooks_.print_table) {
        print_row(m);
      }
      result.history.push_back(m);
      result.epochs_done = epoch;
      ++ran;
    }
    result.finished = result.epochs_done >= config_.epochs;
    // No rank returns before rank 0 has written the last checkpoint.
    comm_.barrier();
    return result;
  }

 private:
  std::vector<torch::Tensor> state_tensors() {
    auto state = net_->parameters();
    for (const auto& b : net_->buffers()) {
      state.push_back(b);
    }
    return state;
  }

  // Every rank must run the same options and start from the same state. The
  // ranks build (or load) identical weights already; the broadcast from rank
  // 0 makes sure of it and the check proves it.
  void sync_initial_state() {
    if (comm_.world_size() == 1) {
      return;
    }
    auto options = to_json(config_);
    options.erase("device"); // cuda:<local rank> differs between ranks
    comm_.check_same(
        std::hash<std::string>{}(options.dump()),
        "the training options (start every rank with the same options)");
    const auto state = state_tensors();
    comm_.broadcast(state);
    comm_.check_same(
        state, "the weights and buffers after the broadcast from rank 0");
  }

  void load_data() {
    splits_ = data::load_splits(config_.data);
    if (config_.poison_rate > 0) {
      splits_.train = data::poison(
          splits_.train, config_.poison_rate, config_.trigger, config_.seed);
    }
    check(splits_.train.size() > 0, "training split is empty");
  }

  void build_optimizer() {
    const double wd = config_.weight_decay;
    if (config_.optimizer == checkpoint::OptimizerKind::kAdam) {
      // One parameter group per IC, as the original (spec 8.3).
      std::vector<torch::optim::OptimizerParamGroup> groups;
      if (config_.mode == checkpoint::Mode::kIcOnly) {
        for (int64_t i = 0; i < net_->num_ics(); ++i) {
          groups.emplace_back(net_->ic_parameters(i));
        }
      } else {
        groups.emplace_back(net_->parameters());
      }
      optimizer_ = std::make_unique<torch::optim::Adam>(
          groups, torch::optim::AdamOptions(config_.lr).weight_decay(wd));
    } else {
      std::vector<torch::Tensor> params;
      if (config_.mode == checkpoint::Mode::kIcOnly) {
        for (int64_t i = 0; i < net_->num_ics(); ++i) {
          for (auto& p : net_->ic_parameters(i)) {
            params.push_back(p);
          }
        }
      } else {
        params = net_->parameters();
      }
      optimizer_ = std::make_unique<torch::optim::SGD>(
          params,
          torch::optim::SGDOptions(config_.lr)
              .momentum(config_.momentum)
              .weight_decay(wd));
    }
    trainable_.clear();
    for (auto& group : optimizer_->param_groups()) {
      for (auto& p : group.params()) {
        trainable_.push_back(p);
      }
    }
  }

  void set_lr(double lr) {
    for (auto& group : optimizer_->param_groups()) {
      group.options().set_lr(lr);
    }
  }

  void set_train_mode() {
    net_->train();
    if (config_.mode == checkpoint::Mode::kIcOnly && config_.ic_only_clean) {
      net_->backbone()->eval();
    }
  }

  EpochMetrics run_epoch(int64_t epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.lr = lr_at_epoch(config_.lr, config_.milestones, config_.gamma, epoch);
    if (config_.mode == checkpoint::Mode::kSdn) {
      m.ic_weights =
          ic_weights_at_epoch(epoch, config_.epochs, net_->num_ics());
    }
    seed_everything(mix_seed(config_.seed, static_cast<uint64_t>(epoch)));
    set_train_mode();
    data::LoaderOptions lo;
    lo.batch_size = config_.batch_size;
    lo.shuffle = true;
    lo.augment = config_.augment;
    lo.seed = config_.seed;
    lo.epoch = epoch;
    lo.rank = comm_.rank();
    lo.world_size = comm_.world_size();
    data::BatchLoader loader(splits_.train, splits_.info, lo);
    const int64_t batches = loader.num_batches();
    const int64_t exits = net_->num_exits();
    std::vector<int64_t> correct(static_cast<size_t>(exits), 0);
    int64_t seen = 0;
    double loss_sum = 0;
    // Every rank trains on an equal shard; the bar counts all of them.
    const int64_t world = comm_.world_size();
    Progress progress(
        str_cat("epoch ", epoch, "/", config_.epochs),
        loader.num_samples() * world,
        "img",
        hooks_.progress);
    Timer timer;
    data::Batch batch;
    int64_t b = 0;
    while (loader.next(batch)) {
      const int64_t step = (epoch - 1) * batches + b;
      set_lr(m.lr * warmup_factor(step, config_.warmup_steps));
      const auto images = network::maybe_channels_last(
          batch.images.to(device_), config_.channels_last);
      const auto labels = batch.labels.to(device_);
      clear_gradients(*optimizer_);
      const auto outputs = net_->forward(images);
      auto loss = training_loss(config_.mode, outputs, labels, m.ic_weights);
      // The mean over the ranks: all of them stop together on a bad loss.
      const double value = comm_.mean(loss.item<double>());
      if (!std::isfinite(value)) {
        progress.finish();
        fail(
            "epoch ",
            epoch,
            ", batch ",
            b + 1,
            ": the loss is not finite (",
            value,
            "); training stopped. The last good checkpoint is ",
            config_.out,
            "/last (lower --lr or add --warmup-steps)");
      }
      loss.backward();
      comm_.average_gradients(trainable_);
      optimizer_->step();
      {
        torch::NoGradGuard no_grad;
        for (int64_t e = 0; e < exits; ++e) {
          correct[static_cast<size_t>(e)] += outputs[static_cast<size_t>(e)]
                                                 .argmax(/*dim=*/1)
                                                 .eq(labels)
                                                 .sum()
                                                 .item<int64_t>();
        }
      }
      const int64_t n = labels.size(0);
      seen += n;
      loss_sum += value;
      ++b;
      progress.advance(n * world, str_cat("loss ", value));
    }
    m.seconds = timer.seconds();
    // BatchNorm running statistics are rank 0's, as DistributedDataParallel
    // keeps them (it broadcasts buffers from rank 0).
    comm_.broadcast(net_->buffers());
    // Identical averaged gradients keep the ranks' weights bit-identical;
    // a cheap check per epoch proves it.
    comm_.check_same(
        state_tensors(), str_cat("the weights after epoch ", epoch));
    std::vector<double> totals = {static_cast<double>(seen)};
    for (const int64_t c : correct) {
      totals.push_back(static_cast<double>(c));
    }
    totals = comm_.sum(totals);
    seen = static_cast<int64_t>(totals[0]);
    for (size_t e = 0; e < correct.size(); ++e) {
      correct[e] = static_cast<int64_t>(totals[e + 1]);
    }
    progress.finish(str_cat("loss ", b ? loss_sum / b : 0.0));
    set_lr(m.lr);
    m.loss = b ? loss_sum / static_cast<double>(b) : 0.0;
    m.images_per_second = m.seconds > 0 ? seen / m.seconds : 0.0;
    for (const int64_t c : correct) {
      m.train_accuracy.push_back(seen ? 100.0 * c / seen : 0.0);
    }
    return m;
  }

  void validate_epoch(EpochMetrics& m) {
    if (splits_.val.size() == 0) {
      return;
    }
    inference::EvalOptions eo;
    eo.batch_size = config_.eval_batch_size;
    eo.device = device_.str();
    eo.channels_last = config_.channels_last;
    eo.progress = hooks_.progress;
    eo.label = "validate";
    // Each rank evaluates a contiguous shard; summed counts give exactly the
    // accuracy over the whole split.
    const int64_t n = splits_.val.size();
    const int64_t w = comm_.world_size();
    const int64_t r = comm_.rank();
    std::vector<int64_t> indices;
    for (int64_t i = r * n / w; i < (r + 1) * n / w; ++i) {
      indices.push_back(i);
    }
    const auto shard =
        w == 1 ? splits_.val : data::subset(splits_.val, indices);
    const auto k = static_cast<double>(shard.size());
    std::vector<double> counts(static_cast<size_t>(net_->num_exits() + 1), 0);
    counts[0] = k;
    if (shard.size() > 0) {
      const auto probs =
          inference::exit_probabilities(net_, shard, splits_.info, eo);
      const auto acc = inference::exit_accuracy(probs, shard.labels);
      for (size_t e = 0; e < acc.size(); ++e) {
        counts[e + 1] = std::round(acc[e] * k / 100.0);
      }
    }
    counts = comm_.sum(counts);
    for (size_t e = 1; e < counts.size(); ++e) {
      m.val_accuracy.push_back(100.0 * counts[e] / counts[0]);
    }
  }

  void save(int64_t epoch, const EpochMetrics& m) {
    const double val_final =
        m.val_accuracy.empty() ? -1.0 : m.val_accuracy.back();
    const bool is_best = m.val_accuracy.empty() || val_final > best_val_;
    if (is_best) {
      best_val_ = val_final;
    }
    if (!comm_.is_main()) {
      return;
    }
    metrics_lines_.push_back(to_json(m).dump());
    std::string all;
    for (const auto& line : metrics_lines_) {
      all += line + "\n";
    }
    write_file_atomic(config_.out + "/metrics.jsonl", all);

    auto meta =
        checkpoint::make_checkpoint_meta(net_, config_, epoch, to_json(m));
    meta["best_val_accuracy"] = best_val_;
    meta["world_size"] = comm_.world_size();
    std::ostringstream opt;
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      archive.save_to(opt);
    }
    // Checkpoints are written from the CPU so they load anywhere.
    net_->to(torch::kCPU);
    checkpoint::write_checkpoint(config_.out + "/last", net_, meta, opt.str());
    if (is_best) {
      checkpoint::write_checkpoint(config_.out + "/best", net_, meta, "");
    }
    net_->to(device_);
  }

  void print_header() {
    std::printf(
        "%5s %9s %9s  %-24s %-24s %7s %7s\n",
        "epoch",
        "lr",
        "loss",
        "train acc % (exits)",
        "val acc % (exits)",
        "sec",
        "img/s");
    std::fflush(stdout);
  }

  void print_row(const EpochMetrics& m) {
    std::printf(
        "%5lld %9.2e %9.4f  %-24s %-24s %7.1f %7.1f",
        static_cast<long long>(m.epoch),
        m.lr,
        m.loss,
        format_list(m.train_accuracy, 1).c_str(),
        format_list(m.val_accuracy, 1).c_str(),
        m.seconds,
        m.images_per_second);
    if (!m.ic_weights.empty()) {
      std::printf("  tau %s", format_list(m.ic_weights, 3).c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
  }

  checkpoint::TrainConfig config_;
  TrainHooks hooks_;
  torch::Device device_;
  Communicator comm_;
  data::Splits splits_;
  network::SdnNetwork net_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> trainable_; // the optimiser's parameters
  int64_t start_epoch_ = 1;
  double best_val_ = -1.0;
  std::vector<std::string> metrics_lines_;
};

} // namespace

nlohmann::json to_json(const EpochMetrics& m) {
  return {
      {"epoch", m.epoch},
      {"lr", m.lr},
      {"loss", m.loss},
      {"ic_weights", m.ic_weights},
      {"train_accuracy", m.train_accuracy},
      {"val_accuracy", m.val_accuracy},
      {"seconds", m.seconds},
      {"images_per_second", m.images_per_second}};
}

torch::Tensor training_loss(
    checkpoint::Mode mode,
    const std::vector<torch::Tensor>& outputs,
    const torch::Tensor& labels,
    const std::vector<double>& tau) {
  namespace F = torch::nn::functional;
  check(!outputs.empty(), "training_loss: no outputs");
  const size_t ics = outputs.size() - 1;
  switch (mode) {
    case checkpoint::Mode::kCnn:
      return F::cross_entropy(outputs.back(), labels);
    case checkpoint::Mode::kSdn: {
      check(
          tau.size() == ics,
          "training_loss: ",
          ics,
          " ICs but ",
          tau.size(),
          " weights");
      auto loss = F::cross_entropy(outputs.back(), labels);
      for (size_t i = 0; i < ics; ++i) {
        loss = loss + tau[i] * F::cross_entropy(outputs[i], labels);
      }
      return loss;
    }
    case checkpoint::Mode::kIcOnly: {
      check(ics > 0, "training_loss: IC-only training needs ICs");
      auto loss = F::cross_entropy(outputs[0], labels);
      for (size_t i = 1; i < ics; ++i) {
        loss = loss + F::cross_entropy(outputs[i], labels);
      }
      return loss;
    }
  }
  fail("unknown training mode");
}

void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      p.mutable_grad() = torch::Tensor();
    }
  }
}

bool has_run(const std::string& out_dir) {
  return path_exists(out_dir + "/last/meta.json") ||
      path_exists(out_dir + "/last.old/meta.json");
}

TrainResult run_training(
    const checkpoint::TrainConfig& config,
    const TrainHooks& hooks,
    const DistributedOptions& distributed) {
  config.validate();
  distributed.validate();
  check(
      !has_run(config.out),
      "--out ",
      config.out,
      " already holds a training run; continue it with --resume ",
      config.out,
      " or choose another directory");
  Run run(config, hooks, distributed);
  run.prepare_fresh();
  return run.train();
}

TrainResult resume_training(
    const std::string& out_dir,
    int64_t stop_after,
    const std::string& device,
    const TrainHooks& hooks,
    const DistributedOptions& distributed) {
  distributed.validate();
  check(
      has_run(out_dir),
      "--resume ",
      out_dir,
      ": no training run to resume there (no last/meta.json)");
  checkpoint::TrainConfig config;
  config.device = device;
  config.stop_after = stop_after;
  Run run(config, hooks, distributed);
  run.prepare_resume(out_dir);
  return run.train();
}

} // namespace sdn::train
