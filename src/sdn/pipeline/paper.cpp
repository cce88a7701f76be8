#include "sdn/pipeline/paper.h"

#include "sdn/pipeline/aggregate.h"

#include "sdn/analysis/exit_trace.h"
#include "sdn/app/explain.h"
#include "sdn/app/image_grids.h"
#include "sdn/app/train_console.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/run_dir.h"
#include "sdn/data/dataset.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/report/console.h"
#include "sdn/report/html.h"
#include "sdn/report/report.h"
#include "sdn/train/trainer.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/json_fields.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/printable.h"
#include "sdn/util/timer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace sdn::pipeline {

namespace {

// "About half" of the errors (paper): we call a destructive rate within
// these bounds consistent with the claim.
constexpr double kAboutHalfLow = 0.35;
constexpr double kAboutHalfHigh = 0.65;
// The paper's "preserving accuracy": at most this many points below N.
constexpr double kAccuracyTolerance = 1.0;

void stage(const std::string& what) {
  std::fprintf(stderr, "\n== %s\n", what.c_str());
  std::fflush(stderr);
}

checkpoint::TrainConfig base_config(
    const PaperOptions& o,
    checkpoint::Mode mode,
    const std::string& dir) {
  checkpoint::TrainConfig c;
  c.arch = o.arch;
  c.mode = mode;
  checkpoint::apply_recipe(c);
  c.data = o.data;
  c.out = dir;
  c.seed = o.seed;
  c.device = o.device;
  c.batch_size = o.batch_size;
  if (mode == checkpoint::Mode::kIcOnly) {
    c.epochs = o.ic_epochs;
    c.lr = o.ic_lr;
    c.milestones = o.ic_milestones;
  } else {
    c.epochs = o.cnn_epochs;
    c.lr = o.lr;
    c.milestones = o.milestones;
    c.warmup_steps = o.warmup_steps;
    c.lr_schedule = o.lr_schedule;
  }
  return c;
}

// The training of `regime`, from the CNN checkpoint `cnn` where it needs one.
checkpoint::TrainConfig regime_config(
    const PaperOptions& o,
    const Regime& regime,
    const std::string& cnn) {
  auto c = base_config(o, regime.mode, o.out + "/" + regime.key);
  if (regime.mode == checkpoint::Mode::kIcOnly ||
      regime.mode == checkpoint::Mode::kMixed) {
    c.from = cnn;
  }
  if (regime.mode == checkpoint::Mode::kMixed) {
    c.epochs = o.mixed_epochs.value_or(o.cnn_epochs);
    c.lr = o.mixed_lr.value_or(o.lr);
  }
  c.ic_only_clean = regime.clean;
  if (regime.distill) {
    c.distill = o.distill;
    c.distill_temperature = o.distill_temperature;
  }
  return c;
}

// Every regime name parse_regime accepts.
const std::vector<std::string>& all_regime_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const char* suffix : {"", "+distill"}) {
      for (const char* base : {"ic-only", "ic-only-clean", "sdn", "mixed"}) {
        all.push_back(std::string(base) + suffix);
      }
    }
    return all;
  }();
  return names;
}

// A rerun continues the runs it finds only if they were made with the
// options asked for now: a changed --arch or --lr must not be reported over
// the old run's weights.
void check_same_options(
    const checkpoint::TrainConfig& saved,
    const checkpoint::TrainConfig& wanted) {
  auto a = checkpoint::to_json(saved);
  auto b = checkpoint::to_json(wanted);
  // Where and how a run executes, not what it computes.
  for (const char* key :
       {"device", "stop_after", "eval_batch_size", "out", "from"}) {
    a.erase(key);
    b.erase(key);
  }
  // A cosine schedule ignores the step schedule's milestones and factor.
  if (saved.lr_schedule == checkpoint::LrSchedule::kCosine &&
      wanted.lr_schedule == checkpoint::LrSchedule::kCosine) {
    for (const char* key : {"milestones", "gamma"}) {
      a.erase(key);
      b.erase(key);
    }
  }
  // Where the data lies (the run checks the training split's content,
  // trainer's CRC-32), and what the files told the run (an image folder's
  // class names, its computed mean and std) when not asked for now.
  a["data"].erase("data_dir");
  b["data"].erase("data_dir");
  for (const char* key : {"class_names", "mean", "std"}) {
    if (b["data"][key].empty()) {
      b["data"][key] = a["data"][key];
    }
  }
  std::string changed;
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key) || a[key] != value) {
      changed += str_cat(
          changed.empty() ? "" : ", ",
          key,
          ": ",
          a.contains(key) ? a[key].dump() : "none",
          " -> ",
          value.dump());
    }
  }
  check(
      changed.empty(),
      "--out: ",
      wanted.out,
      " holds a run made with other options (",
      changed,
      "); rerun with its options or choose another --out");
}

// The CRC-32 of the training split of each data configuration a rerun has
// checked (data::content_crc32), by the configuration's JSON: the three
// trainings share their data, which is then loaded once, not per stage.
using DataCrcs = std::map<std::string, std::string>;

// Trains, resumes or skips one stage; returns the `last` checkpoint. Its
// options were checked against a run the folder holds (check_same_options)
// before any stage trained (run_paper).
std::string train_stage(
    const checkpoint::TrainConfig& config,
    DataCrcs& data_crcs) {
  const std::string last = config.out + "/last";
  const train::TrainCallbacks console = {app::make_train_console()};
  if (checkpoint::has_run(config.out)) {
    const auto meta = checkpoint::read_checkpoint_meta(last);
    if (meta.epoch >= meta.config.epochs) {
      // The options ignore where the data lies; a finished run is not
      // resumed (where the trainer checks it), so its data is checked here:
      // another folder with the same class names must not pass as done.
      if (meta.train_data_crc32) {
        const std::string key = checkpoint::to_json(config.data).dump();
        if (data_crcs.count(key) == 0) {
          data_crcs[key] =
              data::content_crc32(data::load_splits(config.data).train);
        }
        const std::string& crc = data_crcs.at(key);
        check(
            crc == *meta.train_data_crc32,
            "--data-dir ",
            config.data.data_dir.empty() ? "(the default)" :
                                           config.data.data_dir,
            ": its training split (CRC-32 ",
            crc,
            ") is not the one ",
            config.out,
            " was trained on (",
            *meta.train_data_crc32,
            "); rerun with that data or choose another --out");
      }
      std::fprintf(
          stderr,
          "done already: %s (epoch %lld)\n",
          last.c_str(),
          static_cast<long long>(meta.epoch));
      return last;
    }
    std::fprintf(
        stderr,
        "resuming %s after epoch %lld\n",
        config.out.c_str(),
        static_cast<long long>(meta.epoch));
    train::ResumeOptions resume;
    resume.out_dir = config.out;
    resume.device = config.device;
    train::resume_training(resume, console);
    return last;
  }
  train::run_training(config, console);
  return last;
}

// The out-of-distribution sources the pipeline traces (the first one is
// the report's and the page's).
const std::vector<std::string>& paper_ood_sources() {
  static const std::vector<std::string> kSources = {
      "inverted", "gaussian-noise"};
  return kSources;
}

// The key of a pipeline trace's meta.json holding its checkpoint's
// model.pt CRC-32.
constexpr const char* kModelCrcKey = "model_crc32";

// The CRC-32 of `checkpoint`'s weights (its meta.json "files").
std::string model_crc32(
    const checkpoint::CheckpointMeta& meta,
    const std::string& checkpoint) {
  const auto it = meta.files.find("model.pt");
  check(
      it != meta.files.end(),
      checkpoint,
      "/meta.json: no checksum of model.pt (written by an sdn older than "
      "the pipeline's checks); train it again into a new --out");
  return it->second.crc32;
}

// Writes (or reuses) the trace of `checkpoint` on `split` (or, with
// `ood_source`, on those out-of-distribution images).
std::string trace_stage(
    const std::string& checkpoint,
    const std::string& split,
    const std::string& dir,
    int64_t max_samples,
    const std::string& device,
    const std::string& ood_source = "") {
  const auto meta = checkpoint::read_checkpoint_meta(checkpoint);
  const std::string model_crc = model_crc32(meta, checkpoint);
  const std::string meta_path = dir + "/meta.json";
  if (path_exists(meta_path)) {
    const auto existing = read_json(meta_path);
    std::optional<inference::TraceProvenance> provenance;
    try {
      provenance = inference::read_provenance(existing, meta_path);
    } catch (const Error&) {
      // Not written by this pipeline's evaluation: trace again.
    }
    // The same weights, not only the same epoch: a stage trained again
    // into the same folder has new ones.
    if (provenance && provenance->epoch == meta.epoch &&
        provenance->max_samples == max_samples &&
        existing.value("ood_source", std::string()) == ood_source &&
        existing.value(kModelCrcKey, std::string()) == model_crc) {
      std::fprintf(stderr, "done already: %s\n", dir.c_str());
      return dir;
    }
  }
  inference::TraceOptions t;
  t.checkpoint = checkpoint;
  t.split = split;
  t.max_samples = max_samples;
  t.ood_source = ood_source;
  t.eval.device = device;
  t.eval.label = ood_source.empty() ? "trace " + split : "trace " + ood_source;
  analysis::ExitTrace trace = inference::evaluate_checkpoint(t);
  trace.meta[kModelCrcKey] = model_crc;
  analysis::write_trace(dir, trace);
  return dir;
}

std::string fmt(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

// An undefined figure (null in the report) as NaN.
double num(const std::optional<double>& value) {
  return value ? *value : std::nan("");
}

// The OOD experiment side by side: AUROC of every exit's confidence and of
// the confusion score, per network and source.
void print_ood_table(
    const std::vector<Regime>& regimes,
    const std::map<std::string, std::vector<report::Ood>>& results) {
  std::cout << "\n#### Out-of-distribution detection (AUROC: test images "
               "against each source; 0.5 = chance)\n\n";
  bool header = false;
  for (const Regime& regime : regimes) {
    for (const report::Ood& row : results.at(regime.key)) {
      if (!header) {
        std::cout << "| Network | Source |";
        for (size_t e = 0; e < row.auroc.size(); ++e) {
          std::cout
              << (e + 1 == row.auroc.size() ?
                      std::string(" Final |") :
                      " IC" + std::to_string(e + 1) + " |");
        }
        std::cout << " Confusion |\n|---|---|";
        for (size_t e = 0; e <= row.auroc.size(); ++e) {
          std::cout << "---|";
        }
        std::cout << "\n";
        header = true;
      }
      std::cout << "| " << regime.title << " | " << row.source << " |";
      for (const double a : row.auroc) {
        std::cout << " " << fmt(a, 3) << " |";
      }
      std::cout << " " << fmt(row.confusion_auroc, 3) << " |\n";
    }
  }
}

} // namespace

const std::vector<std::string>& PaperOptions::quick_options() {
  static const std::vector<std::string> names = {
      "--train-subset",
      "--val-size",
      "--epochs",
      "--batch-size",
      "--ic-epochs",
      "--milestones",
      "--ic-milestones",
      "--warmup-steps",
      "--test-samples",
      "--train-trace-samples",
      "--ood-samples"};
  return names;
}

void PaperOptions::apply_quick(const std::set<std::string>& given) {
  auto set = [&](const char* name, auto& field, auto value) {
    if (given.count(name) == 0) {
      field = value;
    }
  };
  set("--train-subset", data.train_subset, int64_t{2000});
  set("--val-size", data.val_size, int64_t{1000});
  set("--epochs", cnn_epochs, int64_t{2});
  set("--ic-epochs", ic_epochs, int64_t{2});
  set("--milestones", milestones, std::vector<int64_t>{2});
  set("--ic-milestones", ic_milestones, std::vector<int64_t>{2});
  // Batch 32: enough optimiser steps (about 60 per epoch) to learn.
  set("--batch-size", batch_size, int64_t{32});
  set("--warmup-steps", warmup_steps, int64_t{30});
  set("--test-samples", test_samples, int64_t{2000});
  set("--train-trace-samples", train_trace_samples, int64_t{1000});
  set("--ood-samples", ood_samples, int64_t{1000});
}

Regime parse_regime(const std::string& name) {
  Regime r;
  r.name = name;
  std::string base = name;
  const std::string suffix = "+distill";
  if (base.size() > suffix.size() &&
      base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
    r.distill = true;
    base.resize(base.size() - suffix.size());
  }
  if (base == "ic-only" || base == "ic-only-clean") {
    r.mode = checkpoint::Mode::kIcOnly;
    r.clean = base == "ic-only-clean";
    r.title = r.clean ? "IC-only, clean" : "IC-only";
  } else if (base == "sdn") {
    r.mode = checkpoint::Mode::kSdn;
    r.title = "SDN training";
  } else if (base == "mixed") {
    r.mode = checkpoint::Mode::kMixed;
    r.title = "Mixed";
  } else {
    fail(
        "--regimes: expected ic-only, ic-only-clean, sdn or mixed, each "
        "optionally with +distill, found '",
        printable_name(name),
        "'");
  }
  if (r.distill) {
    r.title += " + distillation";
  }
  r.key = name;
  for (char& ch : r.key) {
    if (ch == '-' || ch == '+') {
      ch = '_';
    }
  }
  return r;
}

std::vector<Regime> PaperOptions::parsed_regimes() const {
  std::vector<Regime> parsed;
  for (const std::string& name : regimes) {
    parsed.push_back(parse_regime(name));
  }
  return parsed;
}

void PaperOptions::validate() const {
  data.validate();
  check(!out.empty(), "--out: an output directory is required");
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(cnn_epochs > 0, "--epochs must be > 0, got ", cnn_epochs);
  check(ic_epochs > 0, "--ic-epochs must be > 0, got ", ic_epochs);
  check(lr > 0 && ic_lr > 0, "--lr and --ic-lr must be > 0");
  check(warmup_steps >= 0, "--warmup-steps must be >= 0, got ", warmup_steps);
  check(test_samples >= 0, "--test-samples must be >= 0, got ", test_samples);
  check(
      train_trace_samples > 0,
      "--train-trace-samples must be > 0, got ",
      train_trace_samples);
  check(grid_images >= 0, "--grid-images must be >= 0, got ", grid_images);
  check(ood_samples >= 0, "--ood-samples must be >= 0, got ", ood_samples);
  check(
      data.val_size > 0,
      "--val-size must be > 0: thresholds are selected on validation");
  check(
      !regimes.empty(),
      "--regimes: expected one or more of ic-only, ic-only-clean, sdn, "
      "mixed (each optionally +distill), found none");
  const std::vector<Regime> parsed = parsed_regimes();
  std::set<std::string> seen;
  bool mixed = false;
  for (const Regime& r : parsed) {
    check(seen.insert(r.key).second, "--regimes: ", r.name, " is given twice");
    mixed = mixed || r.mode == checkpoint::Mode::kMixed;
  }
  check(
      mixed || (!mixed_epochs && !mixed_lr),
      "--mixed-epochs and --mixed-lr are for the mixed regimes; --regimes "
      "has none");
  check(
      !mixed_epochs || *mixed_epochs > 0,
      "--mixed-epochs must be > 0, got ",
      mixed_epochs.value_or(0));
  // The trainings check their lr too, as --lr: named here as given.
  const double float_max = std::numeric_limits<float>::max();
  check(
      !mixed_lr || (*mixed_lr > 0 && *mixed_lr <= float_max),
      "--mixed-lr must be in (0, ",
      float_max,
      "] (the optimiser computes in float32), got ",
      mixed_lr.value_or(0));
  check(
      ic_lr <= float_max,
      "--ic-lr must be at most ",
      float_max,
      " (the optimiser computes in float32), got ",
      ic_lr);
  check(
      distill > 0 && std::isfinite(distill),
      "--distill must be a finite number > 0, got ",
      distill);
  // Every stage's training is checked (--arch among them) before the
  // pipeline writes anything.
  base_config(*this, checkpoint::Mode::kCnn, out + "/cnn").validate();
  for (const Regime& r : parsed) {
    regime_config(*this, r, out + "/cnn/last").validate();
  }
}

SDN_JSON_FIELDS(Claim, claim, measured, verdict)

std::vector<Claim> assess_claims(
    const std::vector<Regime>& regimes,
    const std::map<std::string, report::Report>& reports) {
  std::vector<std::pair<std::string, const report::Report*>> networks;
  for (const Regime& r : regimes) {
    const auto it = reports.find(r.key);
    check(
        it != reports.end(), "assess_claims: no report of the regime ", r.name);
    networks.emplace_back(r.title, &it->second);
  }
  std::vector<Claim> claims;
  auto verdict = [](bool ok) { return ok ? "supported" : "not supported"; };

  // 1. Early exits save at least half the cost at <= 1 point of accuracy.
  for (const auto& [who, r] : networks) {
    const double n = num(r->cnn_accuracy);
    const std::optional<report::BudgetEntry> half =
        r->budgets ? r->budgets->half : std::nullopt;
    const double acc = half ? half->accuracy : std::nan("");
    const double cost = half ? half->cost : std::nan("");
    Claim c;
    c.claim = "Early exits (" + who +
        ") cut the cost by at least half at no more than 1 point of accuracy";
    if (std::isnan(n) || std::isnan(acc)) {
      c.measured = "no threshold within 50 % of the CNN's cost";
      c.verdict = "not supported";
    } else {
      c.measured = "CNN " + fmt(n, 2) + " %, early exit " + fmt(acc, 2) +
          " % at cost " + fmt(cost, 3) + " (" + fmt(acc - n, 2) + " points)";
      c.verdict = verdict(cost <= 0.5 && acc >= n - kAccuracyTolerance);
    }
    claims.push_back(c);
  }

  // 2. SDN training makes the early ICs more accurate than IC-only.
  auto has = [&](const std::string& key) {
    return std::any_of(regimes.begin(), regimes.end(), [&](const Regime& r) {
      return r.key == key;
    });
  };
  if (has("ic_only") && has("sdn")) {
    const std::vector<double>& a = reports.at("ic_only").exit_accuracy;
    const std::vector<double>& b = reports.at("sdn").exit_accuracy;
    const size_t ics = std::min(a.size(), b.size()) - 1;
    const size_t early = std::max<size_t>(1, ics / 2);
    std::string measured;
    int better = 0;
    for (size_t i = 0; i < early; ++i) {
      const double d = b[i] - a[i];
      better += d > 0;
      measured += (i ? ", " : "") + std::string("IC") + std::to_string(i + 1) +
          " " + fmt(a[i], 1) + " -> " + fmt(b[i], 1) + " %";
    }
    claims.push_back(
        {"SDN training makes the early ICs more accurate than IC-only "
         "training",
         "IC-only -> SDN: " + measured,
         verdict(better == static_cast<int>(early))});
  }

  // 3. About half of the misclassifications are destructive overthinking.
  for (const auto& [who, r] : networks) {
    const double rate =
        r->overthinking ? num(r->overthinking->destructive.rate) : std::nan("");
    claims.push_back(
        {"About half of the final exit's errors (" + who +
             ") were right at some IC (destructive overthinking)",
         std::isnan(rate) ? "n/a" : fmt(100 * rate, 1) + " %",
         std::isnan(rate) ?
             "n/a" :
             verdict(rate >= kAboutHalfLow && rate <= kAboutHalfHigh)});
  }

  // 4. Confusion is higher on wrong predictions and flags them better than
  // the CNN's confidence (fewer false negatives).
  for (const auto& [who, r] : networks) {
    const report::Confusion none;
    const report::Confusion& conf = r->confusion ? *r->confusion : none;
    const double mc = num(conf.mean_correct);
    const double mw = num(conf.mean_wrong);
    const double au = num(conf.auroc);
    const double cau = num(conf.confidence_auroc);
    const double fnr = num(conf.fnr_confusion);
    const double cfnr = num(conf.fnr_confidence);
    claims.push_back(
        {"Confusion (" + who +
             ") is higher on wrong predictions and misses fewer of them "
             "than confidence",
         "mean " + fmt(mc, 2) + " (correct) vs " + fmt(mw, 2) +
             " (wrong); AUROC " + fmt(au, 3) + " vs " + fmt(cau, 3) +
             " for confidence; FNR " + fmt(100 * fnr, 1) + " % vs " +
             fmt(100 * cfnr, 1) + " %",
         verdict(mw > mc && fnr < cfnr)});
  }
  return claims;
}

PaperResult run_paper(const PaperOptions& o) {
  if (!o.seeds.empty()) {
    return run_paper_seeds(o);
  }
  check(
      !o.aggregate_only,
      "--aggregate-only has no effect without --seeds (it aggregates "
      "finished per-seed runs)");
  o.validate();
  const std::vector<Regime> regimes = o.parsed_regimes();
  // One pipeline per folder; its trainings also lock their own sub-folders.
  const auto lock = OutputLock::acquire(o.out, "--out");
  // A rerun continues in its own folder (with any regimes); any other
  // folder must be new.
  std::vector<std::string> owned = {
      "cnn", "traces", "stages.json", "summary.json", "report.html"};
  for (const std::string& name : all_regime_names()) {
    const Regime r = parse_regime(name);
    owned.push_back(r.key);
    owned.push_back("report-" + r.key + ".json");
  }
  check_output_folder(o.out, "--out", owned);
  Timer total;
  make_dirs(o.out);
  const std::string traces = o.out + "/traces";
  make_dirs(traces);
  const size_t stage_count = regimes.size() + 4;
  size_t done = 0;
  auto next_stage = [&](const std::string& what) {
    stage(
        std::to_string(++done) + "/" + std::to_string(stage_count) + " " +
        what);
  };

  // Before training anything: the stages OUT holds were made with the
  // options asked for now, and those trained from the CNN from the CNN
  // OUT/cnn holds (OUT/stages.json: the CRC-32 of the CNN's weights each
  // was trained from).
  const auto cnn_config =
      base_config(o, checkpoint::Mode::kCnn, o.out + "/cnn");
  const std::string stages_path = o.out + "/stages.json";
  nlohmann::json stages = path_exists(stages_path) ? read_json(stages_path) :
                                                     nlohmann::json::object();
  check(
      stages.is_object(),
      stages_path,
      ": expected an object of stage names and CNN checksums, found ",
      stages.type_name());
  std::optional<std::string> cnn_crc;
  if (checkpoint::has_run(cnn_config.out)) {
    const auto meta =
        checkpoint::read_checkpoint_meta(cnn_config.out + "/last");
    check_same_options(meta.config, cnn_config);
    cnn_crc = model_crc32(meta, cnn_config.out + "/last");
  }
  for (const Regime& r : regimes) {
    const auto config = regime_config(o, r, cnn_config.out + "/last");
    if (!checkpoint::has_run(config.out)) {
      continue;
    }
    check_same_options(
        checkpoint::read_checkpoint_meta(config.out + "/last").config, config);
    if (!config.from.empty() && stages.contains(r.key)) {
      check(
          cnn_crc && stages[r.key] == *cnn_crc,
          "--out: ",
          config.out,
          " was trained from another CNN than ",
          cnn_config.out,
          cnn_crc ? " holds (its weights' CRC-32 " + *cnn_crc + ", " :
                    " will hold (",
          "that stage's ",
          stages[r.key].dump(),
          "); remove ",
          config.out,
          " to train it again, or choose another --out");
    }
  }

  DataCrcs crcs;
  next_stage("CNN training (" + o.arch + " on " + o.data.name + ")");
  const auto cnn = train_stage(cnn_config, crcs);
  const std::string trained_cnn_crc =
      model_crc32(checkpoint::read_checkpoint_meta(cnn), cnn);

  std::map<std::string, std::string> checkpoints;
  for (const Regime& r : regimes) {
    std::string what;
    switch (r.mode) {
      case checkpoint::Mode::kIcOnly:
        what = r.clean ?
            "IC-only training, clean: ICs on the frozen CNN in eval mode" :
            "IC-only training: internal classifiers on the frozen CNN";
        break;
      case checkpoint::Mode::kMixed:
        what = "Mixed training: fresh ICs on the CNN, then all jointly";
        break;
      default:
        what = "SDN training from the CNN's initialisation";
    }
    next_stage(what + (r.distill ? ", with self-distillation" : ""));
    const auto config = regime_config(o, r, cnn);
    checkpoints[r.key] = train_stage(config, crcs);
    if (!config.from.empty() && stages.value(r.key, "") != trained_cnn_crc) {
      stages[r.key] = trained_cnn_crc;
      write_json_atomic(stages_path, stages);
    }
  }

  next_stage(
      "Exit traces (validation, test, train sample, out-of-distribution)");
  trace_stage(cnn, "test", traces + "/cnn-test", o.test_samples, o.device);
  for (const Regime& r : regimes) {
    const std::string& ckpt = checkpoints.at(r.key);
    const std::string name = traces + "/" + r.key;
    trace_stage(ckpt, "val", name + "-val", 0, o.device);
    trace_stage(ckpt, "test", name + "-test", o.test_samples, o.device);
    trace_stage(
        ckpt, "train", name + "-train", o.train_trace_samples, o.device);
    for (const std::string& source : paper_ood_sources()) {
      trace_stage(
          ckpt,
          "test",
          name + "-ood-" + source,
          o.ood_samples,
          o.device,
          source);
    }
  }

  next_stage("Analyses");
  std::vector<report::HtmlSection> sections;
  std::map<std::string, report::Report> reports;
  std::map<std::string, std::vector<report::Ood>> ood_results;
  for (const Regime& regime : regimes) {
    const std::string name = regime.key;
    report::ReportOptions ro;
    ro.trace_dir = traces + "/" + name + "-test";
    ro.val_trace_dir = traces + "/" + name + "-val";
    ro.cnn_trace_dir = traces + "/cnn-test";
    ro.train_trace_dir = traces + "/" + name + "-train";
    ro.ood_trace_dir = traces + "/" + name + "-ood-" + paper_ood_sources()[0];
    const auto inputs = report::load_report_inputs(ro);
    report::Report r = report::build_report(inputs, ro);
    // The other OOD sources: the same analysis on their traces (the paper's
    // rule only, so no policy is fitted again).
    std::vector<report::Ood> ood = {*r.ood};
    for (size_t i = 1; i < paper_ood_sources().size(); ++i) {
      report::ReportOptions other = ro;
      other.ood_trace_dir =
          traces + "/" + name + "-ood-" + paper_ood_sources()[i];
      other.policies = {"max-prob"};
      ood.push_back(*report::build_report(other).ood);
    }
    ood_results[name] = ood;
    r.title =
        (regime.key == "ic_only" ? std::string("IC-only SDN") : regime.title) +
        ": " + o.arch + " on " + o.data.name;
    write_json_atomic(o.out + "/report-" + name + ".json", r);
    std::cout << "\n#### " << *r.title << "\n\n";
    report::print_report(std::cout, r);
    report::HtmlSection section;
    section.title = *r.title;
    section.report = r;
    data::DatasetInfo info;
    std::string why;
    if (const auto images = app::trace_images(inputs.trace, info, why)) {
      section.grids =
          app::make_image_grids(inputs.trace, *images, info, o.grid_images);
      app::append_grad_cam_grid(
          section.grids,
          inputs.trace,
          checkpoints.at(name), // as traced, from this folder
          *images,
          info,
          o.grid_images);
    } else {
      std::fprintf(stderr, "warning: no image grids: %s\n", why.c_str());
    }
    sections.push_back(std::move(section));
    reports[name] = std::move(r);
  }

  print_ood_table(regimes, ood_results);
  if (regimes.size() > 1) {
    std::map<std::string, nlohmann::json> one_run;
    for (const Regime& r : regimes) {
      one_run[r.key] = spread({nlohmann::json(reports.at(r.key))});
    }
    std::cout << "\n### The regimes side by side\n";
    print_regime_tables(std::cout, regimes, one_run);
  }

  next_stage("The paper's claims on this run");
  PaperResult result;
  const std::vector<Claim> claims = assess_claims(regimes, reports);
  std::cout << "\n#### The paper's claims on this run\n\n";
  for (const Claim& c : claims) {
    std::cout << "- " << c.claim << ": " << c.verdict << " (" << c.measured
              << ")\n";
  }
  const std::string date = utc_date();
  nlohmann::json report_paths;
  for (const Regime& r : regimes) {
    report_paths[r.key] = o.out + "/report-" + r.key + ".json";
  }
  result.summary = {
      {"arch", o.arch},
      {"dataset", o.data.name},
      {"date", date},
      {"seconds", total.seconds()},
      {"regimes", o.regimes},
      {"claims", claims},
      {"ood", ood_results},
      {"reports", report_paths}};
  write_json_atomic(o.out + "/summary.json", result.summary);
  report::HtmlOptions html;
  html.title = "Shallow-Deep Networks: " + o.arch + " on " + o.data.name;
  html.subtitle = "sdn paper, " + date + ", output " + o.out;
  result.html = o.out + "/report.html";
  report::write_html(result.html, sections, html);
  std::fprintf(
      stderr,
      "\nreport: %s\nsummary: %s/summary.json\nthis invocation took "
      "%.0f s\n",
      result.html.c_str(),
      o.out.c_str(),
      total.seconds());
  return result;
}

} // namespace sdn::pipeline
