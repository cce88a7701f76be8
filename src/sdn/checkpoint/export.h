#pragma once

// Weights out of sdn (docs/interop.md): every parameter and buffer of a
// checkpoint's network under its stable name, as safetensors or as a
// PyTorch state_dict.

#include "sdn/checkpoint/checkpoint.h"

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sdn::checkpoint {

/// The file formats of `sdn export`.
enum class ExportFormat {
  /// The public safetensors layout: an 8-byte little-endian header length,
  /// a JSON header ({name: {"dtype", "shape", "data_offsets"}} and
  /// "__metadata__" of strings), then the raw little-endian data.
  kSafetensors,
  /// A name -> tensor dict in PyTorch's zip format (torch::pickle_save):
  /// Python's torch.load reads it as a plain dict, a state_dict that
  /// load_state_dict(strict=True) takes as it is.
  kPytorch,
};

/// Parses "safetensors" or "pytorch"; throws sdn::Error naming --format.
ExportFormat parse_export_format(const std::string& name);

/// Every parameter and buffer of `network` by its state_dict name
/// (parameters, then buffers, each in registration order), on the CPU and
/// contiguous: the names are stable (docs/interop.md#names).
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(
    network::SdnNetwork& network);

/// The sidecar's facts as safetensors metadata (strings; lists and numbers
/// as JSON text): arch, dataset, mode, epoch, num_classes, num_exits,
/// input_shape, ic_blocks, classes (--classes, "[]" for all), class_names,
/// mean and std (the input normalisation), and sdn_export_format "1".
std::map<std::string, std::string> export_metadata(const CheckpointMeta& meta);

/// The bytes of a safetensors file holding `tensors` (float32 as "F32",
/// int64 as "I64"; others throw sdn::Error) and `metadata`. Names must be
/// unique and non-empty, and "__metadata__" is reserved.
std::string encode_safetensors(
    const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::map<std::string, std::string>& metadata);

/// What decode_safetensors reads.
struct Safetensors {
  /// In file order of their data (ascending data_offsets).
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

/// Reads a safetensors file's bytes (F32, F64, F16, BF16, I64, I32, I16,
/// I8, U8, BOOL tensors). Throws sdn::Error, prefixed by `source`, for a
/// truncated file, a bad header (not JSON, a field missing or of the wrong
/// type), an unknown dtype, offsets that overlap, leave gaps or run past the
/// end, a shape that does not match its byte count, or a BOOL tensor
/// holding a byte other than 0 and 1.
Safetensors decode_safetensors(
    const std::string& bytes,
    const std::string& source);

/// Writes the network of checkpoint `dir` to `out` in `format`, atomically
/// (a temporary file, then a rename), after removing the temporaries a
/// killed export left beside `out` (OUT.tmp.N): call it holding `out`'s
/// OutputLock (util/output_lock.h), as `sdn export` does. Throws
/// sdn::Error naming the checkpoint or the file, also for an `out` inside
/// `dir` (it would replace or add a file of the checkpoint).
void export_checkpoint(
    const std::string& dir,
    ExportFormat format,
    const std::string& out);

} // namespace sdn::checkpoint
