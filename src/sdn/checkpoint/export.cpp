#include "sdn/checkpoint/export.h"

#include "sdn/data/dataset.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/printable.h"

#include <nlohmann/json.hpp>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>

namespace sdn::checkpoint {

namespace fs = std::filesystem;

namespace {

// safetensors dtype names and their LibTorch types.
const std::vector<std::pair<std::string, torch::ScalarType>>& dtypes() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> k = {
      {"F32", torch::kFloat32},
      {"F64", torch::kFloat64},
      {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16},
      {"I64", torch::kInt64},
      {"I32", torch::kInt32},
      {"I16", torch::kInt16},
      {"I8", torch::kInt8},
      {"U8", torch::kUInt8},
      {"BOOL", torch::kBool}};
  return k;
}

std::string json_text(const nlohmann::json& value) {
  return value.dump();
}

} // namespace

ExportFormat parse_export_format(const std::string& name) {
  if (name == "safetensors") {
    return ExportFormat::kSafetensors;
  }
  if (name == "pytorch") {
    return ExportFormat::kPytorch;
  }
  fail("--format must be safetensors or pytorch, got '", name, "'");
}

std::vector<std::pair<std::string, torch::Tensor>> named_tensors(
    network::SdnNetwork& network) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : network->named_parameters()) {
    out.emplace_back(item.key(), item.value().detach().cpu().contiguous());
  }
  for (const auto& item : network->named_buffers()) {
    out.emplace_back(item.key(), item.value().detach().cpu().contiguous());
  }
  return out;
}

std::map<std::string, std::string> export_metadata(const CheckpointMeta& meta) {
  const data::DatasetInfo info = data::dataset_info(meta.config.data);
  return {
      {"sdn_export_format", "1"},
      {"arch", meta.arch},
      {"dataset", meta.dataset},
      {"mode", mode_name(meta.mode)},
      {"epoch", std::to_string(meta.epoch)},
      {"num_classes", std::to_string(meta.num_classes)},
      {"num_exits", std::to_string(meta.num_exits)},
      {"input_shape", json_text(meta.input_shape)},
      {"ic_blocks", json_text(meta.ic_blocks)},
      {"classes", json_text(meta.config.data.classes)},
      {"class_names", json_text(info.class_names)},
      {"mean", json_text(info.mean)},
      {"std", json_text(info.std)}};
}

std::string encode_safetensors(
    const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) {
    header["__metadata__"] = metadata;
  }
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    check(
        !name.empty() && name != "__metadata__",
        "safetensors: a tensor may not be named '",
        name,
        "'");
    check(
        !header.contains(name), "safetensors: two tensors named '", name, "'");
    const torch::ScalarType type = tensor.scalar_type();
    const auto it =
        std::find_if(dtypes().begin(), dtypes().end(), [type](const auto& d) {
          return d.second == type;
        });
    check(
        it != dtypes().end() &&
            (tensor.scalar_type() == torch::kFloat32 ||
             tensor.scalar_type() == torch::kInt64),
        "safetensors: tensor '",
        name,
        "' is ",
        tensor.scalar_type(),
        ", expected float32 or int64");
    const torch::Tensor t = tensor.detach().cpu().contiguous();
    const size_t begin = data.size();
    if (t.nbytes() > 0) { // an empty tensor has no storage
      data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    }
    header[name] = {
        {"dtype", it->first},
        {"shape", t.sizes().vec()},
        {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  // The data starts 8-byte aligned: the header is padded with spaces.
  text.append((8 - (text.size() % 8)) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) {
    out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  return out + text + data;
}

Safetensors decode_safetensors(
    const std::string& bytes,
    const std::string& source) {
  check(
      bytes.size() >= 8,
      source,
      ": not a safetensors file (",
      bytes.size(),
      " bytes, expected at least the 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  }
  check(
      n <= bytes.size() - 8,
      source,
      ": header length ",
      n,
      " runs past the end of the ",
      bytes.size(),
      "-byte file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": the header is not JSON (", printable_name(e.what()), ")");
  }
  check(header.is_object(), source, ": the header is not a JSON object");
  const size_t data_begin = 8 + n;
  const size_t data_size = bytes.size() - data_begin;
  Safetensors out;
  struct Entry {
    std::string name;
    torch::ScalarType dtype;
    std::vector<int64_t> shape;
    size_t begin;
    size_t end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      check(
          value.is_object(),
          source,
          ": '__metadata__' must be an object of strings");
      for (const auto& [key, text] : value.items()) {
        check(
            text.is_string(),
            source,
            ": metadata '",
            key,
            "' must be a string");
        out.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    const std::string where =
        source + ": tensor '" + printable_name(name) + "'";
    check(
        value.is_object() && value.contains("dtype") &&
            value["dtype"].is_string() && value.contains("shape") &&
            value["shape"].is_array() && value.contains("data_offsets") &&
            value["data_offsets"].is_array() &&
            value["data_offsets"].size() == 2,
        where,
        ": expected {\"dtype\", \"shape\", \"data_offsets\": [begin, end]}");
    const std::string dtype = value["dtype"].get<std::string>();
    const auto it =
        std::find_if(dtypes().begin(), dtypes().end(), [&](const auto& d) {
          return d.first == dtype;
        });
    check(
        it != dtypes().end(),
        where,
        ": unknown dtype '",
        printable_name(dtype),
        "'");
    Entry e{name, it->second, {}, 0, 0};
    int64_t numel = 1;
    for (const auto& d : value["shape"]) {
      check(
          d.is_number_unsigned() &&
              d.get<uint64_t>() <
                  static_cast<uint64_t>(std::numeric_limits<int32_t>::max()),
          where,
          ": shape entries must be integers in [0, 2147483647), got ",
          printable_name(d.dump()));
      e.shape.push_back(d.get<int64_t>());
      check(
          !__builtin_mul_overflow(numel, e.shape.back(), &numel),
          where,
          ": the shape's element count overflows");
    }
    for (const auto& o : value["data_offsets"]) {
      check(
          o.is_number_unsigned(),
          where,
          ": data_offsets must be non-negative integers");
    }
    e.begin = value["data_offsets"][0].get<size_t>();
    e.end = value["data_offsets"][1].get<size_t>();
    check(
        e.begin <= e.end && e.end <= data_size,
        where,
        ": data_offsets [",
        e.begin,
        ", ",
        e.end,
        "] lie outside the ",
        data_size,
        " data bytes");
    size_t expected = 0;
    check(
        !__builtin_mul_overflow(
            static_cast<size_t>(numel), torch::elementSize(e.dtype), &expected),
        where,
        ": the shape's byte count overflows");
    check(
        e.end - e.begin == expected,
        where,
        ": ",
        e.end - e.begin,
        " bytes for shape ",
        c10::IntArrayRef(e.shape),
        " of ",
        dtype,
        ", expected ",
        expected);
    entries.push_back(std::move(e));
  }
  // By (begin, end): an empty tensor at the offset where another starts
  // comes first, so that the file order is the one that covers the data.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  size_t at = 0;
  for (const Entry& e : entries) {
    check(
        e.begin == at,
        source,
        ": tensor '",
        printable_name(e.name),
        "' starts at data byte ",
        e.begin,
        ", expected ",
        at,
        " (the tensors must cover the data without gaps or overlap)");
    at = e.end;
    if (e.dtype == torch::kBool) { // any other byte is not a C++ bool
      const char* b = bytes.data() + data_begin + e.begin;
      check(
          std::all_of(
              b,
              b + (e.end - e.begin),
              [](char x) { return x == 0 || x == 1; }),
          source,
          ": BOOL tensor '",
          printable_name(e.name),
          "' holds bytes other than 0 and 1");
    }
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions(e.dtype));
    if (e.end > e.begin) { // an empty tensor has no storage to copy into
      std::memcpy(
          t.data_ptr(), bytes.data() + data_begin + e.begin, e.end - e.begin);
    }
    out.tensors.emplace_back(e.name, t);
  }
  check(
      at == data_size,
      source,
      ": ",
      data_size - at,
      " bytes after the last tensor's data");
  return out;
}

void export_checkpoint(
    const std::string& dir,
    ExportFormat format,
    const std::string& out) {
  check(!out.empty(), "--out: a file name is required");
  // A file inside the checkpoint would replace one of its own files (its
  // model.pt, its meta.json) or leave a stranger in it.
  {
    std::error_code ec;
    const fs::path folder = fs::weakly_canonical(dir, ec);
    const fs::path target = fs::weakly_canonical(out, ec).parent_path();
    const auto end =
        std::mismatch(
            folder.begin(), folder.end(), target.begin(), target.end())
            .first;
    check(
        folder.empty() || end != folder.end(),
        "--out ",
        out,
        ": inside the checkpoint ",
        dir,
        " being exported (it would change the checkpoint); write the file "
        "outside it");
  }
  CheckpointMeta meta;
  network::SdnNetwork network = load_network(dir, meta);
  const auto tensors = named_tensors(network);
  // Under the caller's lock no other sdn writes OUT, so the temporaries
  // beside it are what a killed export left (OUT.tmp.N): removed.
  const fs::path out_path(out);
  remove_temporaries(
      out_path.has_parent_path() ? out_path.parent_path().string() : ".",
      out_path.filename().string());
  if (format == ExportFormat::kSafetensors) {
    write_file_atomic(out, encode_safetensors(tensors, export_metadata(meta)));
    return;
  }
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    dict.insert(name, tensor);
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_file_atomic(out, std::string(bytes.begin(), bytes.end()));
}

} // namespace sdn::checkpoint
