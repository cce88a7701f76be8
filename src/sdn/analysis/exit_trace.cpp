#include "sdn/analysis/exit_trace.h"

#include "sdn/analysis/npy.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <cmath>
#include <filesystem>
#include <utility>

namespace sdn::analysis {

namespace {

constexpr const char* kProbsFile = "probs.npy";
// No network's exit costs a million times its CNN; a larger value is a
// mistake, and sums of such costs overflow.
constexpr double kMaxRelativeCost = 1e6;
constexpr const char* kLabelsFile = "labels.npy";
constexpr const char* kMetaFile = "meta.json";

std::string join(const std::string& dir, const char* file) {
  if (dir.empty() || dir.back() == '/') {
    return dir + file;
  }
  return dir + "/" + file;
}

void check_probs(
    const std::vector<float>& probs,
    int64_t n,
    int64_t e,
    int64_t k,
    const std::string& name) {
  check(
      static_cast<int64_t>(probs.size()) == n * e * k,
      name,
      ": holds ",
      probs.size(),
      " probabilities, expected N*E*K = ",
      n,
      "*",
      e,
      "*",
      k,
      " = ",
      n * e * k);
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t x = 0; x < e; ++x) {
      const float* row = probs.data() + (s * e + x) * k;
      double sum = 0;
      for (int64_t c = 0; c < k; ++c) {
        check(
            std::isfinite(row[c]) && row[c] >= 0.0F,
            name,
            ": probability of sample ",
            s,
            ", exit ",
            x,
            ", class ",
            c,
            " is ",
            row[c],
            " (must be finite and non-negative)");
        sum += row[c];
      }
      check(
          std::fabs(sum - 1.0) <= kProbSumTolerance,
          name,
          ": probabilities of sample ",
          s,
          ", exit ",
          x,
          " sum to ",
          sum,
          ", not 1 (tolerance ",
          kProbSumTolerance,
          "): softmax outputs expected");
    }
  }
}

void check_labels(
    const std::vector<int64_t>& labels,
    int64_t n,
    int64_t k,
    bool ood,
    const std::string& name) {
  check(
      static_cast<int64_t>(labels.size()) == n,
      name,
      ": holds ",
      labels.size(),
      " labels, expected N = ",
      n);
  for (int64_t s = 0; s < n; ++s) {
    const int64_t y = labels[static_cast<size_t>(s)];
    if (ood) {
      check(
          y == -1,
          name,
          ": label of sample ",
          s,
          " is ",
          y,
          "; an out-of-distribution trace has only -1");
      continue;
    }
    check(
        y >= 0 && y < k,
        name,
        ": label of sample ",
        s,
        " is ",
        y,
        ", outside [0, ",
        k,
        ")",
        y == -1 ? " (-1 only in an out-of-distribution trace, \"ood\": true)" :
                  "");
  }
}

void check_costs(
    const std::vector<double>& cost,
    int64_t e,
    bool may_be_empty,
    const std::string& name,
    const char* key) {
  if (may_be_empty && cost.empty()) {
    return;
  }
  check(
      static_cast<int64_t>(cost.size()) == e,
      name,
      ": '",
      key,
      "' has ",
      cost.size(),
      " entries, expected one per exit (",
      e,
      ")");
  for (size_t i = 0; i < cost.size(); ++i) {
    check(
        std::isfinite(cost[i]) && cost[i] > 0 && cost[i] <= kMaxRelativeCost,
        name,
        ": '",
        key,
        "'[",
        i,
        "] = ",
        cost[i],
        " is not a cost relative to the CNN's (a number in (0, ",
        kMaxRelativeCost,
        "])");
    // Not check(i == 0 || ...): its message arguments, cost[i - 1] among
    // them, are evaluated even for i == 0.
    if (i > 0 && cost[i] < cost[i - 1]) {
      fail(
          name,
          ": '",
          key,
          "' is cumulative and must not decrease, but entry ",
          i,
          " (",
          cost[i],
          ") < entry ",
          i - 1,
          " (",
          cost[i - 1],
          ")");
    }
  }
}

int64_t meta_int(
    const nlohmann::json& meta,
    const char* key,
    const std::string& name) {
  check(meta.contains(key), name, ": missing key '", key, "'");
  const auto& v = meta.at(key);
  check(
      v.is_number_integer() && v.get<int64_t>() >= 0,
      name,
      ": '",
      key,
      "' must be a non-negative integer, got ",
      v.dump());
  return v.get<int64_t>();
}

std::vector<double> meta_doubles(
    const nlohmann::json& meta,
    const char* key,
    bool required,
    const std::string& name) {
  if (!meta.contains(key)) {
    check(!required, name, ": missing key '", key, "'");
    return {};
  }
  const auto& v = meta.at(key);
  check(v.is_array(), name, ": '", key, "' must be an array of numbers");
  std::vector<double> out;
  for (const auto& x : v) {
    check(
        x.is_number(),
        name,
        ": '",
        key,
        "' must be an array of numbers, got ",
        x.dump());
    out.push_back(x.get<double>());
  }
  return out;
}

// An optional string; absent means "".
std::string meta_string(
    const nlohmann::json& meta,
    const char* key,
    const std::string& name) {
  if (!meta.contains(key)) {
    return "";
  }
  const auto& v = meta.at(key);
  check(v.is_string(), name, ": '", key, "' must be a string, got ", v.dump());
  return v.get<std::string>();
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + "]";
}

} // namespace

int64_t ExitTrace::prediction(int64_t n, int64_t e) const {
  const float* row = probs_at(n, e);
  int64_t best = 0;
  for (int64_t k = 1; k < num_classes; ++k) {
    if (row[k] > row[best]) {
      best = k;
    }
  }
  return best;
}

float ExitTrace::confidence(int64_t n, int64_t e) const {
  return probs_at(n, e)[prediction(n, e)];
}

void ExitTrace::validate(const std::string& source) const {
  check(num_samples > 0, source, ": trace has no samples");
  check(num_exits > 0, source, ": trace has no exits");
  check(num_classes > 0, source, ": trace has no classes");
  check_probs(probs, num_samples, num_exits, num_classes, source);
  check_labels(labels, num_samples, num_classes, ood, source);
  check(
      ood || ood_source.empty(),
      source,
      ": names an OOD source but is not an OOD trace");
  check_costs(exit_cost, num_exits, false, source, "exit_cost");
  check_costs(exit_cost_exact, num_exits, true, source, "exit_cost_exact");
}

TracePredictions compute_predictions(const ExitTrace& trace) {
  TracePredictions out;
  out.num_samples = trace.num_samples;
  out.num_exits = trace.num_exits;
  const size_t cells = static_cast<size_t>(trace.num_samples * trace.num_exits);
  out.prediction.resize(cells);
  out.confidence.resize(cells);
  out.correct.resize(cells);
  for (int64_t n = 0; n < trace.num_samples; ++n) {
    for (int64_t e = 0; e < trace.num_exits; ++e) {
      const size_t i = static_cast<size_t>(n * trace.num_exits + e);
      const int64_t p = trace.prediction(n, e);
      out.prediction[i] = p;
      out.confidence[i] = trace.prob(n, e, p);
      out.correct[i] = p == trace.labels[static_cast<size_t>(n)] ? 1 : 0;
    }
  }
  return out;
}

std::vector<double> exit_accuracy(const ExitTrace& trace) {
  return exit_topk_accuracy(trace, 1);
}

std::vector<double> exit_topk_accuracy(const ExitTrace& trace, int64_t k) {
  check(k >= 1, "top-k accuracy needs k >= 1, got ", k);
  check(
      !trace.ood,
      "accuracy of an out-of-distribution trace: its labels are -1");
  std::vector<double> out(static_cast<size_t>(trace.num_exits), 0.0);
  if (trace.num_samples == 0) {
    return out;
  }
  for (int64_t e = 0; e < trace.num_exits; ++e) {
    int64_t hits = 0;
    for (int64_t n = 0; n < trace.num_samples; ++n) {
      const float* row = trace.probs_at(n, e);
      const int64_t y = trace.labels[static_cast<size_t>(n)];
      int64_t above = 0;
      for (int64_t c = 0; c < trace.num_classes; ++c) {
        if (row[c] > row[y] || (row[c] == row[y] && c < y)) {
          ++above;
        }
      }
      if (above < k) {
        ++hits;
      }
    }
    out[static_cast<size_t>(e)] = 100.0 * hits / trace.num_samples;
  }
  return out;
}

namespace {

// The folder a trace goes to: "T/" names T (the folder beside it is
// T.tmp.PID, not T/.tmp.PID), and a symbolic link names its target, which
// is replaced while the link stays (as files are written through links).
std::string trace_folder(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  std::error_code ec;
  if (std::filesystem::is_symlink(dir, ec)) {
    const auto target = std::filesystem::weakly_canonical(dir, ec);
    if (!ec) {
      return target.string();
    }
  }
  return dir;
}

} // namespace

void check_trace_destination(const std::string& folder) {
  const std::string dir = trace_folder(folder);
  // An existing `dir` is replaced whole, so it may hold nothing but a trace:
  // a folder of other files is never deleted by a mistyped --out.
  if (path_exists(dir)) {
    check(
        std::filesystem::is_directory(dir),
        dir,
        ": exists and is not a folder");
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      check(
          name == kProbsFile || name == kLabelsFile || name == kMetaFile,
          dir,
          ": holds ",
          name,
          ", which is not part of a trace; choose another folder for the "
          "trace (it replaces the folder's contents)");
    }
  }
}

void write_trace(const std::string& folder, const ExitTrace& trace) {
  const std::string dir = trace_folder(folder);
  trace.validate("trace for " + dir);
  check_trace_destination(dir);
  // Written into a folder beside `dir`, then swapped in: a kill or a full
  // disk leaves the previous trace whole, and two writers cannot mix files.
  write_folder_atomic(dir, [&](const std::string& fresh) {
    write_npy(
        join(fresh, kProbsFile),
        trace.probs,
        {trace.num_samples, trace.num_exits, trace.num_classes});
    write_npy(join(fresh, kLabelsFile), trace.labels, {trace.num_samples});
    nlohmann::json meta =
        trace.meta.is_object() ? trace.meta : nlohmann::json::object();
    meta["num_samples"] = trace.num_samples;
    meta["num_exits"] = trace.num_exits;
    meta["num_classes"] = trace.num_classes;
    meta["split"] = trace.split;
    meta["checkpoint"] = trace.checkpoint;
    meta["exit_cost"] = trace.exit_cost;
    meta["exit_cost_exact"] = trace.exit_cost_exact;
    meta.erase("ood");
    meta.erase("ood_source");
    if (trace.ood) {
      meta["ood"] = true;
      meta["ood_source"] = trace.ood_source;
    }
    // meta.json last: a directory with meta.json holds a complete trace.
    write_json_atomic(join(fresh, kMetaFile), meta);
  });
}

ExitTrace read_trace(const std::string& dir) {
  const std::string meta_path = join(dir, kMetaFile);
  const std::string probs_path = join(dir, kProbsFile);
  const std::string labels_path = join(dir, kLabelsFile);
  for (const auto& path : {meta_path, probs_path, labels_path}) {
    check(
        path_exists(path),
        path,
        ": missing (a trace directory holds probs.npy, labels.npy and "
        "meta.json)");
  }
  ExitTrace trace;
  trace.meta = read_json(meta_path);
  check(trace.meta.is_object(), meta_path, ": must hold a JSON object");
  trace.num_samples = meta_int(trace.meta, "num_samples", meta_path);
  trace.num_exits = meta_int(trace.meta, "num_exits", meta_path);
  trace.num_classes = meta_int(trace.meta, "num_classes", meta_path);
  trace.exit_cost = meta_doubles(trace.meta, "exit_cost", true, meta_path);
  trace.exit_cost_exact =
      meta_doubles(trace.meta, "exit_cost_exact", false, meta_path);
  trace.split = meta_string(trace.meta, "split", meta_path);
  trace.checkpoint = meta_string(trace.meta, "checkpoint", meta_path);
  if (trace.meta.contains("ood")) {
    const auto& v = trace.meta.at("ood");
    check(
        v.is_boolean(),
        meta_path,
        ": 'ood' must be true or false, got ",
        v.dump());
    trace.ood = v.get<bool>();
  }
  trace.ood_source = meta_string(trace.meta, "ood_source", meta_path);
  check(
      trace.ood || trace.ood_source.empty(),
      meta_path,
      ": 'ood_source' without \"ood\": true");

  NpyFloat32 probs = read_npy_float32(probs_path);
  check(
      probs.shape.size() == 3,
      probs_path,
      ": must be 3-D [N, E, K], has shape ",
      shape_text(probs.shape));
  NpyInt64 labels = read_npy_int64(labels_path);
  check(
      labels.shape.size() == 1,
      labels_path,
      ": must be 1-D [N], has shape ",
      shape_text(labels.shape));
  check(
      probs.shape[0] == labels.shape[0],
      "shape mismatch in ",
      dir,
      ": ",
      kProbsFile,
      " has ",
      probs.shape[0],
      " samples but ",
      kLabelsFile,
      " has ",
      labels.shape[0]);
  const std::vector<int64_t> meta_shape = {
      trace.num_samples, trace.num_exits, trace.num_classes};
  check(
      probs.shape == meta_shape,
      "shape mismatch in ",
      dir,
      ": ",
      kProbsFile,
      " has shape ",
      shape_text(probs.shape),
      " but ",
      kMetaFile,
      " says [num_samples, num_exits, num_classes] = ",
      shape_text(meta_shape));
  check(trace.num_samples > 0, meta_path, ": trace has no samples");
  check(trace.num_exits > 0, meta_path, ": trace has no exits");
  check(trace.num_classes > 0, meta_path, ": trace has no classes");
  trace.probs = std::move(probs.data);
  trace.labels = std::move(labels.data);
  check_probs(
      trace.probs,
      trace.num_samples,
      trace.num_exits,
      trace.num_classes,
      probs_path);
  check_labels(
      trace.labels,
      trace.num_samples,
      trace.num_classes,
      trace.ood,
      labels_path);
  check_costs(trace.exit_cost, trace.num_exits, false, meta_path, "exit_cost");
  check_costs(
      trace.exit_cost_exact,
      trace.num_exits,
      true,
      meta_path,
      "exit_cost_exact");
  return trace;
}

} // namespace sdn::analysis
