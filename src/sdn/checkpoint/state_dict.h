#pragma once

// Weights into sdn (docs/interop.md#sdn-import): the tensors of a state_dict
// file, as Python's torch.save or a safetensors writer left them.

#include "sdn/util/printable.h"

#include <torch/types.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace sdn::checkpoint {

/// The tensors read_torch_zip rebuilds hold at most this many times the
/// file's bytes: tied weights share a storage, so one tensor may repeat
/// another's data, but a few KB of pickle that view one storage thousands
/// of times (or with stride 0) would otherwise ask for gigabytes.
constexpr size_t kMaxTensorBytesPerFileByte = 16;

/// The formats of a state_dict file, told apart by their first bytes.
enum class StateDictFormat {
  /// PyTorch's zip format ("PK\x03\x04"): Python's torch.save (its default
  /// since PyTorch 1.6) or torch::pickle_save (`sdn export --format
  /// pytorch`).
  kPytorch,
  /// safetensors: an 8-byte header length, then a JSON object ("{").
  kSafetensors,
};

/// "pytorch" or "safetensors".
std::string state_dict_format_name(StateDictFormat format);

/// A file's tensors by name, in the file's order.
struct StateDict {
  StateDictFormat format = StateDictFormat::kPytorch;
  /// On the CPU, contiguous, owning their memory, of the file's dtypes.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
};

/// Reads the dict of names to tensors in the bytes of a PyTorch zip file:
/// what `torch.save(model.state_dict(), FILE)` writes (an OrderedDict), a
/// plain dict, or torch::pickle_save's dict. Only what a state_dict needs
/// of Python's pickle is understood (dicts, OrderedDicts, lists, tuples,
/// strings, numbers, tensors and parameters of float64, float32, float16,
/// bfloat16, int64, int32, int16, int8, uint8 or bool storages); no Python
/// code is run. Nothing is allocated for what the file only claims: the
/// zip's central directory is checked before LibTorch's reader opens it
/// (every record inside the file; a readable record `version` LibTorch
/// accepts), a compressed record is never read (LibTorch would inflate it
/// to the size it claims; torch.save stores every record as it is), the
/// storages add up to at most the file's size and the tensors to
/// kMaxTensorBytesPerFileByte times it. Throws sdn::Error
/// prefixed by `source` for a file that is not a zip archive or is
/// truncated, one in PyTorch's legacy (non-zip) format, a record that
/// claims more bytes than the file holds, or that sdn reads and is
/// compressed, a TorchScript
/// archive (torch.jit.save, or an sdn checkpoint's model.pt), a pickle that
/// is malformed, uses what a state_dict does not (naming the opcode or the
/// Python type), or holds something other than a dict of str -> tensor
/// (naming the key and what it holds), a storage whose record is missing
/// or of the wrong size, a tensor view that reaches past its storage, and
/// storages or tensors over the bounds above.
std::vector<std::pair<std::string, torch::Tensor>> read_torch_zip(
    const std::string& bytes,
    const std::string& source);

/// Reads a state_dict file's bytes, PyTorch zip (read_torch_zip) or
/// safetensors (decode_safetensors, export.h; its metadata is not used),
/// picked by content, never by the file name. Throws sdn::Error prefixed
/// by `source` for bytes in neither format, for what the two readers
/// refuse, and for a tensor named "" (no PyTorch module names one so).
StateDict read_state_dict(const std::string& bytes, const std::string& source);

} // namespace sdn::checkpoint
