#include "sdn/train/trainer.h"

#include "sdn/checkpoint/run_dir.h"
#include "sdn/data/loader.h"
#include "sdn/data/rng.h"
#include "sdn/data/trigger.h"
#include "sdn/device/device.h"
#include "sdn/inference/evaluator.h"
#include "sdn/network/memory_format.h"
#include "sdn/train/schedules.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/timer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

namespace sdn::train {

namespace {

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) {
    torch::cuda::manual_seed_all(seed);
  }
}

// "all classes" or "classes 3,1,4" (DataOptions::classes).
std::string classes_text(const std::vector<int64_t>& classes) {
  if (classes.empty()) {
    return "all classes";
  }
  std::string text = "classes ";
  for (size_t i = 0; i < classes.size(); ++i) {
    text += (i == 0 ? "" : ",") + std::to_string(classes[i]);
  }
  return text;
}

} // namespace

void ResumeOptions::validate() const {
  check(!out_dir.empty(), "--resume: a run directory is required");
  check(stop_after >= 0, "--stop-after must be >= 0, got ", stop_after);
  check(
      !epochs || *epochs > 0, "--epochs must be > 0, got ", epochs.value_or(0));
  check(
      !eval_batch_size || *eval_batch_size > 0,
      "--eval-batch-size must be > 0, got ",
      eval_batch_size.value_or(0));
  check(!data_dir || !data_dir->empty(), "--data-dir must not be empty");
  check(
      !device || *device == "cpu" || *device == "cuda" ||
          device->rfind("cuda:", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device.value_or(""),
      "'");
}

// Everything a run holds; Trainer is its public face.
struct Trainer::State {
  State(checkpoint::TrainConfig config, const DistributedOptions& distributed)
      : config_(std::move(config)),
        device_(checked_device(device_for_rank(config_.device, distributed))),
        comm_(distributed, device_.str()),
        run_dir_(config_.out) {}

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
    // from exactly the CNN run's initial backbone
    // (docs/training.md#modes-and-recipes).
    net_ = network::SdnNetwork(options);
    if (from_cnn()) {
      copy_cnn_backbone(options);
    }
    build_optimizer();
  }

  void prepare_resume(const ResumeOptions& resume) {
    auto saved = checkpoint::read_resume_state(resume.out_dir);
    net_ = saved.network;
    config_ = saved.meta.config;
    if (resume.device && *resume.device != config_.device) {
      changes_.push_back(
          str_cat("device: ", config_.device, " -> ", *resume.device));
      config_.device = *resume.device;
    }
    config_.stop_after = resume.stop_after;
    config_.out = resume.out_dir;
    if (resume.epochs && *resume.epochs != config_.epochs) {
      check(
          *resume.epochs >= saved.meta.epoch,
          "--epochs ",
          *resume.epochs,
          ": the run in ",
          resume.out_dir,
          " has already trained ",
          saved.meta.epoch,
          " epochs");
      changes_.push_back(str_cat(
          "epochs: ",
          config_.epochs,
          " -> ",
          *resume.epochs,
          " (milestones unchanged)"));
      config_.epochs = *resume.epochs;
    }
    if (resume.data_dir &&
        std::filesystem::absolute(*resume.data_dir).lexically_normal() !=
            std::filesystem::absolute(config_.data.data_dir)
                .lexically_normal()) {
      changes_.push_back(str_cat(
          "data_dir: '",
          config_.data.data_dir,
          "' -> '",
          *resume.data_dir,
          "'"));
      config_.data = config_.data.moved_to(*resume.data_dir);
    }
    if (resume.eval_batch_size &&
        *resume.eval_batch_size != config_.eval_batch_size) {
      changes_.push_back(str_cat(
          "eval_batch_size: ",
          config_.eval_batch_size,
          " -> ",
          *resume.eval_batch_size));
      config_.eval_batch_size = *resume.eval_batch_size;
    }
    load_data();
    check_same_data(saved.meta);
    build_optimizer();
    try {
      std::istringstream in(saved.optimizer_state);
      torch::serialize::InputArchive archive;
      archive.load_from(in);
      optimizer_->load(archive);
    } catch (const c10::Error& e) {
      fail(
          saved.optimizer_file,
          ": corrupt optimiser state (",
          e.what_without_backtrace(),
          ")");
    }
    first_epoch_ = saved.meta.epoch + 1;
    resumed_ = true;
    run_dir_ = checkpoint::RunDirectory::resume(config_.out, saved.meta);
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
    result.last_dir = run_dir_.last();
    result.best_dir = run_dir_.best();
    result.epochs_done = first_epoch_ - 1;
    TrainStart start;
    start.config = config_;
    start.first_epoch = first_epoch_;
    start.world_size = comm_.world_size();
    start.changes = changes_;
    notify([&](TrainCallback& c) {
      resumed_ ? c.on_resume(start) : c.on_start(start);
    });
    int64_t ran = 0;
    for (int64_t epoch = first_epoch_; epoch <= config_.epochs; ++epoch) {
      if (config_.stop_after > 0 && ran >= config_.stop_after) {
        break;
      }
      EpochMetrics m = run_epoch(epoch);
      validate_epoch(m);
      save(epoch, m);
      notify([&](TrainCallback& c) { c.on_epoch_end(m); });
      result.history.push_back(m);
      result.epochs_done = epoch;
      ++ran;
    }
    result.finished = result.epochs_done >= config_.epochs;
    // No rank returns before rank 0 has written the last checkpoint.
    comm_.barrier();
    notify([&](TrainCallback& c) { c.on_finish(result); });
    return result;
  }

  checkpoint::TrainConfig config_;
  torch::Device device_;
  Communicator comm_;
  checkpoint::RunDirectory run_dir_;
  data::Splits splits_;
  network::SdnNetwork net_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> trainable_; // the optimiser's parameters
  int64_t first_epoch_ = 1;
  bool resumed_ = false;
  std::vector<std::string> changes_; // What a resume changed (TrainStart).
  // Rank 0's lock on the run folder: one writer at a time.
  std::optional<OutputLock> lock_;
  int64_t train_samples_ = 0; // The training split as loaded,
  std::string train_crc32_; // before poisoning (check_same_data).
  TrainCallbacks callbacks_;

 private:
  // Callbacks run on rank 0 only: the other ranks train silently.
  void notify(const std::function<void(TrainCallback&)>& call) {
    if (!comm_.is_main()) {
      return;
    }
    for (const auto& callback : callbacks_) {
      call(*callback);
    }
  }

  // IC-only and mixed training start from a trained CNN (--from).
  bool from_cnn() const {
    return config_.mode == checkpoint::Mode::kIcOnly ||
        config_.mode == checkpoint::Mode::kMixed;
  }

  void copy_cnn_backbone(const network::NetworkOptions& options) {
    checkpoint::CheckpointMeta from_meta;
    auto cnn = checkpoint::load_network(config_.from, from_meta);
    check(
        !from_meta.with_ics && from_meta.mode == checkpoint::Mode::kCnn,
        "--from ",
        config_.from,
        ": ",
        config_.mode == checkpoint::Mode::kIcOnly ? "IC-only" : "mixed",
        " training needs a CNN checkpoint, got a ",
        checkpoint::mode_name(from_meta.mode),
        " checkpoint");
    check(
        from_meta.arch == config_.arch,
        "--from ",
        config_.from,
        ": checkpoint is a ",
        from_meta.arch,
        ", but --arch is ",
        config_.arch);
    check(
        from_meta.config.data.classes == config_.data.classes,
        "--from ",
        config_.from,
        ": the CNN was trained on ",
        classes_text(from_meta.config.data.classes),
        ", but this run on ",
        classes_text(config_.data.classes),
        " (--classes must match)");
    const auto& cnn_classes = from_meta.config.data.class_names;
    const auto& run_classes = config_.data.class_names;
    if (!cnn_classes.empty() && cnn_classes != run_classes) {
      size_t i = 0;
      while (i < cnn_classes.size() && i < run_classes.size() &&
             cnn_classes[i] == run_classes[i]) {
        ++i;
      }
      fail(
          "--from ",
          config_.from,
          ": the CNN's classes differ from the data's: class ",
          i,
          " is '",
          i < cnn_classes.size() ? cnn_classes[i] : "(none)",
          "' for the CNN, '",
          i < run_classes.size() ? run_classes[i] : "(none)",
          "' in ",
          config_.data.data_dir);
    }
    const auto cnn_options = from_meta.network_options().backbone;
    check(
        cnn_options.in_channels == options.backbone.in_channels &&
            cnn_options.input_side == options.backbone.input_side &&
            cnn_options.num_classes == options.backbone.num_classes,
        "--from ",
        config_.from,
        ": checkpoint was trained on ",
        from_meta.dataset,
        ", whose input shape or classes differ from ",
        config_.data.name);
    net_->copy_backbone_from(*cnn);
  }

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
    auto options = checkpoint::to_json(config_);
    options.erase("device"); // cuda:<local rank> differs between ranks
    comm_.check_same(
        std::hash<std::string>{}(options.dump()),
        "the training options (start every rank with the same options)");
    const auto state = state_tensors();
    comm_.broadcast(state);
    comm_.check_same(
        state, "the weights and buffers after the broadcast from rank 0");
  }

  // A resumed run must train on the data it started with: the training
  // split's size and checksum, where the checkpoint recorded them.
  void check_same_data(const checkpoint::CheckpointMeta& saved) const {
    const std::string where = config_.data.data_dir.empty() ?
        std::string("the default location") :
        "'" + config_.data.data_dir + "'";
    if (saved.train_samples) {
      check(
          *saved.train_samples == train_samples_,
          "--resume ",
          config_.out,
          ": the training split from ",
          where,
          " has ",
          train_samples_,
          " samples, but the run trained on ",
          *saved.train_samples);
    }
    if (saved.train_data_crc32) {
      check(
          *saved.train_data_crc32 == train_crc32_,
          "--resume ",
          config_.out,
          ": the training split from ",
          where,
          " differs from the one the run trained on (CRC-32 ",
          train_crc32_,
          ", recorded ",
          *saved.train_data_crc32,
          ")");
    }
  }

  void load_data() {
    adopt_cnn_normalisation();
    splits_ = data::load_splits(config_.data);
    // What the files said (an image folder's classes and computed mean and
    // std) goes into the checkpoints with the rest of the config.
    config_.data = splits_.options;
    train_samples_ = splits_.train.size();
    train_crc32_ = data::content_crc32(splits_.train);
    if (config_.poison_rate > 0) {
      check(
          config_.trigger.target < splits_.info.num_classes,
          "--trigger-target ",
          config_.trigger.target,
          ": expected a label of the training data (0 to ",
          splits_.info.num_classes - 1,
          config_.data.classes.empty() ? ")" : ", as --classes relabels)");
      splits_.train = data::poison(
          splits_.train, config_.poison_rate, config_.trigger, config_.seed);
    }
    check(splits_.train.size() > 0, "training split is empty");
  }

  // IC-only training on an image folder normalises as the CNN was trained
  // (or imported), unless --mean/--std say otherwise: the frozen backbone
  // must see the inputs it knows.
  void adopt_cnn_normalisation() {
    if (!from_cnn() || config_.data.name != "folder" ||
        !config_.data.mean.empty()) {
      return;
    }
    const auto from = checkpoint::read_checkpoint_meta(config_.from);
    if (from.config.data.name == "folder" &&
        static_cast<int64_t>(from.config.data.mean.size()) ==
            config_.data.image_channels) {
      config_.data.mean = from.config.data.mean;
      config_.data.std = from.config.data.std;
    }
  }

  void build_optimizer() {
    const double wd = config_.weight_decay;
    if (config_.optimizer == checkpoint::OptimizerKind::kAdam) {
      // One parameter group per IC, as the original
      // (docs/training.md#ic-only-training).
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
    if (config_.mode == checkpoint::Mode::kSdn) {
      m.ic_weights =
          ic_weights_at_epoch(epoch, config_.epochs, net_->num_ics());
    }
    // Every epoch's LibTorch streams depend only on the run's seed and the
    // epoch, so a resumed run draws what an uninterrupted one would.
    seed_everything(
        data::rng_output(config_.seed, static_cast<uint64_t>(epoch)));
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
    // Every epoch has the same number of batches.
    const bool cosine = config_.lr_schedule == checkpoint::LrSchedule::kCosine;
    const auto lr_at_step = [&](int64_t step) {
      return cosine ?
          config_.lr * cosine_factor(step, config_.epochs * batches) :
          lr_at_epoch(config_.lr, config_.milestones, config_.gamma, epoch);
    };
    m.lr = lr_at_step((epoch - 1) * batches);
    const int64_t exits = net_->num_exits();
    std::vector<int64_t> correct(static_cast<size_t>(exits), 0);
    int64_t seen = 0;
    double loss_sum = 0;
    // Every rank trains on an equal shard; progress counts all of them.
    const int64_t world = comm_.world_size();
    PhaseProgress progress;
    progress.phase = Phase::kTrain;
    progress.epoch = epoch;
    progress.epochs = config_.epochs;
    progress.total = loader.num_samples() * world;
    notify([&](TrainCallback& c) { c.on_phase_begin(progress); });
    Timer timer;
    data::Batch batch;
    int64_t b = 0;
    while (loader.next(batch)) {
      const int64_t step = (epoch - 1) * batches + b;
      set_lr(lr_at_step(step) * warmup_factor(step, config_.warmup_steps));
      const auto images = network::maybe_channels_last(
          batch.images.to(device_), config_.channels_last);
      const auto labels = batch.labels.to(device_);
      clear_gradients(*optimizer_);
      const auto outputs = net_->forward(images);
      auto loss = training_loss(
          config_.mode,
          outputs,
          labels,
          m.ic_weights,
          Distillation{config_.distill, config_.distill_temperature});
      // The mean over the ranks: all of them stop together on a bad loss.
      const double value = comm_.mean(loss.item<double>());
      if (!std::isfinite(value)) {
        progress.loss = value;
        notify([&](TrainCallback& c) { c.on_phase_end(progress); });
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
      progress.done += n * world;
      progress.loss = value;
      notify([&](TrainCallback& c) { c.on_progress(progress); });
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
    set_lr(m.lr);
    m.loss = b ? loss_sum / static_cast<double>(b) : 0.0;
    progress.loss = m.loss;
    notify([&](TrainCallback& c) { c.on_phase_end(progress); });
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
    PhaseProgress progress;
    progress.phase = Phase::kValidate;
    progress.epoch = m.epoch;
    progress.epochs = config_.epochs;
    progress.total = splits_.val.size();
    progress.loss = std::numeric_limits<double>::quiet_NaN();
    notify([&](TrainCallback& c) { c.on_phase_begin(progress); });
    inference::EvalOptions eo;
    eo.batch_size = config_.eval_batch_size;
    eo.device = device_.str();
    eo.channels_last = config_.channels_last;
    eo.progress = false; // reported through the callbacks
    eo.label = "validate";
    const int64_t world = comm_.world_size();
    eo.on_progress = [&](int64_t done, int64_t /*total*/) {
      // This rank's shard stands for all of them.
      progress.done = std::min(done * world, progress.total);
      notify([&](TrainCallback& c) { c.on_progress(progress); });
    };
    inference::Shard shard;
    shard.rank = comm_.rank();
    shard.world_size = world;
    m.val_accuracy = inference::sharded_exit_accuracy(
        net_,
        splits_.val,
        splits_.info,
        eo,
        shard,
        [&](const std::vector<double>& v) { return comm_.sum(v); });
    progress.done = progress.total;
    notify([&](TrainCallback& c) { c.on_phase_end(progress); });
  }

  void save(int64_t epoch, const EpochMetrics& m) {
    // Every rank holds the same weights, so all of them stop together.
    check_finite_weights(net_, epoch, config_.out);
    const bool is_best = run_dir_.update_best(m);
    if (!comm_.is_main()) {
      return;
    }
    auto meta = checkpoint::make_checkpoint_meta(net_, config_, epoch, m);
    meta.best_val_accuracy = run_dir_.best_val_accuracy();
    meta.world_size = comm_.world_size();
    meta.train_samples = train_samples_;
    meta.train_data_crc32 = train_crc32_;
    std::ostringstream opt;
    {
      torch::serialize::OutputArchive archive;
      optimizer_->save(archive);
      archive.save_to(opt);
    }
    // Checkpoints are written from the CPU so they load anywhere.
    net_->to(torch::kCPU);
    run_dir_.write_checkpoints(net_, meta, opt.str(), is_best);
    net_->to(device_);
    // After the checkpoint: metrics.jsonl never names an epoch that no
    // checkpoint holds (RunDirectory::resume restores a line lost here).
    run_dir_.append_metrics(m);
  }
};

Trainer::Trainer(
    const checkpoint::TrainConfig& config,
    const DistributedOptions& distributed) {
  config.validate();
  distributed.validate();
  // Rank 0 writes the folder: it holds the lock from before the check that
  // the folder is free until training ends, so two runs started at once
  // cannot both pass it.
  std::optional<OutputLock> lock;
  if (distributed.rank == 0) {
    lock = OutputLock::acquire(config.out, "--out");
  }
  check(
      !checkpoint::has_run(config.out),
      "--out ",
      config.out,
      " already holds a training run; continue it with --resume ",
      config.out,
      " or choose another directory");
  check_output_folder(config.out, "--out", checkpoint::run_entries());
  if (lock) {
    checkpoint::remove_run_temporaries(config.out);
  }
  state_ = std::make_unique<State>(config, distributed);
  state_->lock_ = std::move(lock);
  state_->prepare_fresh();
}

Trainer::Trainer(std::unique_ptr<State> state) : state_(std::move(state)) {}

Trainer Trainer::resume(
    const ResumeOptions& options,
    const DistributedOptions& distributed) {
  options.validate();
  distributed.validate();
  std::optional<OutputLock> lock;
  if (distributed.rank == 0) {
    lock = OutputLock::acquire(options.out_dir, "--resume folder");
  }
  check(
      checkpoint::has_run(options.out_dir),
      "--resume ",
      options.out_dir,
      ": no training run to resume there (no last/meta.json)");
  if (lock) {
    checkpoint::remove_run_temporaries(options.out_dir);
  }
  // The saved config replaces this one once the checkpoint is read; the
  // device is needed before, to join the other ranks.
  checkpoint::TrainConfig config;
  config.device = options.device ?
      *options.device :
      checkpoint::read_checkpoint_meta(options.out_dir + "/last").config.device;
  config.stop_after = options.stop_after;
  config.out = options.out_dir;
  auto state = std::make_unique<State>(config, distributed);
  state->lock_ = std::move(lock);
  state->prepare_resume(options);
  return Trainer(std::move(state));
}

Trainer::~Trainer() = default;
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;

void Trainer::add_callback(std::shared_ptr<TrainCallback> callback) {
  check(callback != nullptr, "Trainer::add_callback: null callback");
  state_->callbacks_.push_back(std::move(callback));
}

TrainResult Trainer::train() {
  return state_->train();
}

const checkpoint::TrainConfig& Trainer::config() const {
  return state_->config_;
}

int64_t Trainer::first_epoch() const {
  return state_->first_epoch_;
}

bool Trainer::resumed() const {
  return state_->resumed_;
}

network::SdnNetwork Trainer::network() const {
  return state_->net_;
}

TrainResult run_training(
    const checkpoint::TrainConfig& config,
    const TrainCallbacks& callbacks,
    const DistributedOptions& distributed) {
  Trainer trainer(config, distributed);
  for (const auto& callback : callbacks) {
    trainer.add_callback(callback);
  }
  return trainer.train();
}

TrainResult resume_training(
    const ResumeOptions& options,
    const TrainCallbacks& callbacks,
    const DistributedOptions& distributed) {
  auto trainer = Trainer::resume(options, distributed);
  for (const auto& callback : callbacks) {
    trainer.add_callback(callback);
  }
  return trainer.train();
}

namespace {

// The exits' own loss of `mode`, without distillation.
torch::Tensor exit_loss(
    checkpoint::Mode mode,
    const std::vector<torch::Tensor>& outputs,
    const torch::Tensor& labels,
    const std::vector<double>& tau) {
  namespace F = torch::nn::functional;
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
    case checkpoint::Mode::kMixed: {
      check(ics > 0, "training_loss: mixed training needs ICs");
      auto loss = F::cross_entropy(outputs[0], labels);
      for (size_t i = 1; i <= ics; ++i) {
        loss = loss + F::cross_entropy(outputs[i], labels);
      }
      return loss / static_cast<double>(ics + 1);
    }
  }
  fail("unknown training mode");
}

} // namespace

torch::Tensor training_loss(
    checkpoint::Mode mode,
    const std::vector<torch::Tensor>& outputs,
    const torch::Tensor& labels,
    const std::vector<double>& tau,
    const Distillation& distill) {
  check(!outputs.empty(), "training_loss: no outputs");
  auto loss = exit_loss(mode, outputs, labels, tau);
  if (distill.weight == 0) {
    return loss;
  }
  const size_t ics = outputs.size() - 1;
  check(
      ics > 0 && mode != checkpoint::Mode::kCnn,
      "training_loss: distillation needs ICs");
  const double t = distill.temperature;
  const auto log_p = torch::log_softmax(outputs.back().detach() / t, 1);
  const auto p = log_p.exp();
  torch::Tensor kl;
  for (size_t i = 0; i < ics; ++i) {
    const auto log_q = torch::log_softmax(outputs[i] / t, 1);
    const auto term = (p * (log_p - log_q)).sum(1).mean();
    kl = kl.defined() ? kl + term : term;
  }
  return loss + distill.weight * t * t * kl / static_cast<double>(ics);
}

void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      p.mutable_grad() = torch::Tensor();
    }
  }
}

void check_finite_weights(
    network::SdnNetwork& network,
    int64_t epoch,
    const std::string& out_dir) {
  torch::NoGradGuard no_grad;
  for (const auto& item : network->named_parameters()) {
    check(
        torch::isfinite(item.value()).all().item<bool>(),
        "epoch ",
        epoch,
        ": weight '",
        item.key(),
        "' is not finite (training diverged); no checkpoint was written for "
        "this epoch, the last good one is ",
        out_dir,
        "/last (lower --lr or add --warmup-steps)");
  }
}

} // namespace sdn::train
