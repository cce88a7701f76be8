#include "sdn/checkpoint/import.h"

#include "sdn/util/checksum.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/printable.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace sdn::checkpoint {

namespace {

// The names Python users know dtypes by.
std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kInt64:
      return "int64";
    case torch::kInt32:
      return "int32";
    case torch::kInt16:
      return "int16";
    case torch::kInt8:
      return "int8";
    case torch::kUInt8:
      return "uint8";
    case torch::kBool:
      return "bool";
    default:
      return c10::toString(type);
  }
}

std::string describe(const torch::Tensor& t) {
  return str_cat(dtype_name(t.scalar_type()), " ", t.sizes());
}

// `t` as `want` when the conversion keeps every value exactly; nullopt with
// `why` otherwise.
std::optional<torch::Tensor> exact_convert(
    const torch::Tensor& t,
    torch::ScalarType want,
    std::string& why) {
  const torch::ScalarType have = t.scalar_type();
  if (have == want) {
    return t;
  }
  if (want == torch::kFloat32) {
    if (have == torch::kFloat16 || have == torch::kBFloat16) {
      return t.to(torch::kFloat32); // every value is a float32 value
    }
    if (have == torch::kFloat64) {
      const torch::Tensor f = t.to(torch::kFloat32);
      const torch::Tensor back = f.to(torch::kFloat64);
      if (back.eq(t).logical_or(t.isnan()).all().item<bool>()) {
        return f;
      }
      why = "float64 with values float32 cannot hold exactly";
      return std::nullopt;
    }
  }
  if (want == torch::kInt64 && have != torch::kBool &&
      c10::isIntegralType(have, /*includeBool=*/false)) {
    return t.to(torch::kInt64);
  }
  why = dtype_name(have);
  return std::nullopt;
}

// What the file gave under one of sdn's names.
struct Given {
  std::string theirs; // the file's name
  int64_t line = 0; // the name map line that renamed it (0: none)
  torch::Tensor tensor;
};

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string where_from(const Given& g) {
  return g.line == 0 ? "" :
                       str_cat(
                           " (the file's '",
                           printable_name(g.theirs),
                           "', name map line ",
                           g.line,
                           ")");
}

// One line of the error, sorted by kind, then name.
struct Problem {
  int kind;
  std::string name;
  std::string text;
  bool operator<(const Problem& o) const {
    return std::tie(kind, name, text) < std::tie(o.kind, o.name, o.text);
  }
};

enum ProblemKind {
  kMapLine,
  kTwice,
  kUnexpected,
  kMissing,
  kShape,
  kDtype,
  kValue,
};

// The names and tensors the network holds: parameters, then buffers.
std::vector<std::pair<std::string, torch::Tensor>> network_tensors(
    network::SdnNetwork& network) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : network->named_parameters()) {
    out.emplace_back(item.key(), item.value());
  }
  for (const auto& item : network->named_buffers()) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

// Refuses an --out that exists and is not an empty folder.
void check_out(const std::string& out) {
  check(!out.empty(), "--out: a folder name is required");
  check(
      !path_exists(out + "/meta.json"),
      "--out ",
      out,
      " already holds a checkpoint; sdn import never replaces one (choose a "
      "new or empty folder)");
  check_output_folder(out, "--out", {});
}

} // namespace

NameMap parse_name_map(const std::string& text, const std::string& source) {
  check(
      is_utf8(text),
      source,
      ": not UTF-8 text (a name map is UTF-8 or ASCII; UTF-16, as some "
      "Windows editors save, is not read)");
  NameMap map;
  map.source = source;
  std::unordered_map<std::string, int64_t> theirs_line;
  std::unordered_map<std::string, int64_t> ours_line;
  // A UTF-8 byte order mark (Windows editors write one) is not a name's.
  const bool bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  std::istringstream in(bom ? text.substr(3) : text);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) {
      line.resize(hash);
    }
    std::istringstream columns(line);
    std::vector<std::string> names;
    for (std::string name; columns >> name;) {
      names.push_back(name);
    }
    if (names.empty()) {
      continue;
    }
    check(
        names.size() == 2,
        source,
        ":",
        n,
        ": expected two names (the file's, then sdn's), found ",
        names.size());
    const auto [theirs, fresh_theirs] = theirs_line.emplace(names[0], n);
    check(
        fresh_theirs,
        source,
        ":",
        n,
        ": '",
        printable_name(names[0]),
        "' is already mapped on line ",
        theirs->second);
    const auto [ours, fresh_ours] = ours_line.emplace(names[1], n);
    check(
        fresh_ours,
        source,
        ":",
        n,
        ": '",
        printable_name(names[1]),
        "' is already the sdn name of line ",
        ours->second);
    map.entries.push_back({names[0], names[1], n});
  }
  check(
      !map.entries.empty(),
      source,
      ": holds no pair of names (each line: the file's name, then sdn's)");
  return map;
}

network::SdnNetwork import_network(
    const std::string& arch,
    const data::DataOptions& data,
    const StateDict& state,
    const NameMap* map,
    const std::string& source) {
  const data::DatasetInfo info = data::dataset_info(data);
  network::NetworkOptions options;
  options.backbone.arch = arch;
  options.backbone.in_channels = info.channels;
  options.backbone.input_side = info.side;
  options.backbone.num_classes = info.num_classes;
  options.with_ics = false;
  options.backbone.validate();
  network::SdnNetwork network(options);

  std::vector<Problem> problems;
  std::unordered_map<std::string, const NameMapEntry*> renames;
  if (map != nullptr) {
    for (const auto& entry : map->entries) {
      renames[entry.theirs] = &entry;
    }
  }
  std::map<std::string, Given> given; // by sdn's name
  std::unordered_map<std::string, bool> in_file;
  for (const auto& [name, tensor] : state.tensors) {
    in_file[name] = true;
    Given g{name, 0, tensor};
    std::string ours = name;
    const auto rename = renames.find(name);
    if (rename != renames.end()) {
      ours = rename->second->ours;
      g.line = rename->second->line;
    }
    const auto [it, fresh] = given.emplace(ours, g);
    if (!fresh) {
      const Given& a = it->second.line <= g.line ? it->second : g;
      const Given& b = it->second.line <= g.line ? g : it->second;
      problems.push_back(
          {kTwice,
           ours,
           str_cat(
               "two tensors become '",
               printable_name(ours),
               "': '",
               printable_name(a.theirs),
               "'",
               a.line == 0 ? "" : str_cat(" (name map line ", a.line, ")"),
               " and '",
               printable_name(b.theirs),
               "' (name map line ",
               b.line,
               ")")});
    }
  }
  if (map != nullptr) {
    for (const auto& entry : map->entries) {
      if (in_file.count(entry.theirs) == 0) {
        problems.push_back(
            {kMapLine,
             entry.theirs,
             str_cat(
                 "name map line ",
                 entry.line,
                 ": the file holds no '",
                 printable_name(entry.theirs),
                 "'")});
      }
    }
  }
  const auto expected = network_tensors(network);
  std::unordered_map<std::string, bool> ours;
  for (const auto& [name, tensor] : expected) {
    ours[name] = true;
  }
  size_t matched = 0;
  for (const auto& [name, g] : given) {
    if (ours.count(name) == 0) {
      problems.push_back(
          {kUnexpected,
           name,
           str_cat(
               "unexpected '",
               printable_name(name),
               "' (",
               describe(g.tensor),
               ")",
               where_from(g),
               ": sdn's network has no such tensor")});
    }
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  for (const auto& [name, target] : expected) {
    const auto it = given.find(name);
    if (it == given.end()) {
      const bool counter = ends_with(name, ".num_batches_tracked");
      problems.push_back(
          {kMissing,
           name,
           str_cat(
               "missing '",
               name,
               "' (",
               describe(target),
               ")",
               counter ? " (a BatchNorm's step counter: PyTorch state_dicts "
                         "hold one per BatchNorm; torch.tensor(0) when "
                         "unknown)" :
                         "")});
      continue;
    }
    ++matched;
    const Given& g = it->second;
    if (g.tensor.sizes() != target.sizes()) {
      problems.push_back(
          {kShape,
           name,
           str_cat(
               "shape of '",
               name,
               "'",
               where_from(g),
               ": ",
               g.tensor.sizes(),
               " in the file, sdn's is ",
               target.sizes())});
      continue;
    }
    std::string why;
    const auto converted = exact_convert(g.tensor, target.scalar_type(), why);
    if (!converted) {
      problems.push_back(
          {kDtype,
           name,
           str_cat(
               "dtype of '",
               name,
               "'",
               where_from(g),
               ": ",
               why,
               ", sdn's is ",
               dtype_name(target.scalar_type()))});
      continue;
    }
    // Finite, as in every checkpoint sdn writes; a BatchNorm's running
    // variance and step counter never negative (a negative variance gives
    // NaN outputs far from this file).
    std::string bad_values;
    if (converted->is_floating_point() &&
        !converted->isfinite().all().item<bool>()) {
      bad_values = "not all finite (NaN or infinity)";
    } else if (
        (ends_with(name, ".running_var") ||
         ends_with(name, ".num_batches_tracked")) &&
        (*converted < 0).any().item<bool>()) {
      bad_values =
          "negative (a BatchNorm's running variance and step count are at "
          "least 0)";
    }
    if (!bad_values.empty()) {
      problems.push_back(
          {kValue,
           name,
           str_cat("values of '", name, "'", where_from(g), ": ", bad_values)});
      continue;
    }
    copies.emplace_back(target, *converted);
  }
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    std::ostringstream message;
    message << source << ": " << problems.size()
            << (problems.size() == 1 ? " problem" : " problems")
            << " loading it into sdn's " << arch << " CNN for " << data.name
            << " (" << info.num_classes << " classes, " << info.channels << "x"
            << info.side << "x" << info.side << " inputs)";
    if (map != nullptr) {
      message << ", names after the name map " << map->source;
    }
    message << ":";
    for (size_t i = 0; i < problems.size() && i < kMaxListedProblems; ++i) {
      message << "\n  " << problems[i].text;
    }
    if (problems.size() > kMaxListedProblems) {
      message << "\n  ... and " << problems.size() - kMaxListedProblems
              << " more";
    }
    if (matched == 0 && !state.tensors.empty()) {
      message << "\n  (no name matches: sdn's names are in "
                 "docs/interop.md#names; --name-map renames the file's)";
    }
    throw Error(message.str());
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) {
    target.copy_(value);
  }
  return network;
}

namespace {

// read_file, after checking from the file's size, before reading it, that
// it holds at most `max` bytes ("OPTION PATH: N bytes, more than LIMIT").
std::string read_file_at_most(
    const std::string& path,
    const std::string& option,
    uintmax_t max,
    const std::string& limit) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  check(
      ec || size <= max,
      option,
      " ",
      path,
      ": ",
      size,
      " bytes, more than ",
      limit);
  return read_file(path);
}

} // namespace

CheckpointMeta import_checkpoint(const ImportOptions& options) {
  check(!options.from.empty(), "--from: a state_dict file is required");
  check_out(options.out);
  TrainConfig config;
  config.arch = options.arch;
  config.mode = Mode::kCnn;
  // What the data's files say, recorded as sdn train records it, so that
  // the checkpoint describes its data without them: the class names of an
  // image folder or Tiny ImageNet, and an image folder's mean and std
  // (computed on its training split, as training does, unless given).
  // The splits are loaded as training would load them, so that the
  // checkpoint's data options are ones every later command can load (a
  // --val-size larger than the training split is refused here, not by
  // the first sdn eval).
  config.data = data::load_splits(options.data).options;
  config.out = options.out;
  apply_recipe(config);
  config.validate();
  // The largest backbone of sdn's (VGG-16, 64x64 inputs, 200 classes) is
  // about 160 MiB in float64.
  const std::string bytes = read_file_at_most(
      options.from,
      "--from",
      uintmax_t{1} << 30,
      "the 1 GiB any state_dict of sdn's networks fits in; not a "
      "state_dict of --arch " +
          options.arch);
  const StateDict state = read_state_dict(bytes, options.from);
  std::optional<NameMap> map;
  if (!options.name_map.empty()) {
    // A map names a few hundred tensors: a few tens of KiB.
    map = parse_name_map(
        read_file_at_most(
            options.name_map,
            "--name-map",
            uintmax_t{16} << 20,
            "the 16 MiB a name map of any network fits in"),
        options.name_map);
  }
  network::SdnNetwork network = import_network(
      options.arch, config.data, state, map ? &*map : nullptr, options.from);
  CheckpointMeta meta =
      make_checkpoint_meta(network, config, /*epoch=*/0, EpochMetrics{});
  meta.imported_from = ImportSource{
      options.from,
      state_dict_format_name(state.format),
      crc32_hex(bytes),
      options.name_map};
  const auto lock = OutputLock::acquire(options.out, "--out");
  check_out(options.out); // again, now that no other sdn writes it
  write_folder_atomic(options.out, [&](const std::string& fresh) {
    write_checkpoint_files(fresh, network, meta, "");
  });
  return read_checkpoint_meta(options.out);
}

} // namespace sdn::checkpoint
