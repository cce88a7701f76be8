#pragma once

// `sdn import` (docs/interop.md#sdn-import): a state_dict from outside
// (state_dict.h) into an sdn CNN checkpoint, after checking every tensor
// against the network sdn builds.

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/state_dict.h"
#include "sdn/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::checkpoint {

/// One line of a name map: the file's name for a tensor and sdn's.
struct NameMapEntry {
  std::string theirs; ///< The name in the state_dict file.
  std::string ours; ///< sdn's name (docs/interop.md#names).
  int64_t line = 0; ///< 1-based line of the name map file.
};

/// A --name-map file.
struct NameMap {
  std::string source; ///< The file, for messages.
  std::vector<NameMapEntry> entries; ///< In file order.
};

/// Parses a name map's text: one pair per line, the file's name then sdn's,
/// separated by whitespace; `#` starts a comment, blank lines are skipped.
/// Throws sdn::Error "SOURCE:LINE: ..." for a line without exactly two
/// names, a name of the file mapped twice, or two names mapped to the same
/// sdn name; "SOURCE: ..." when it holds no pair at all.
NameMap parse_name_map(const std::string& text, const std::string& source);

/// How many problems an import error lists before "... and N more".
constexpr size_t kMaxListedProblems = 50;

/// The plain CNN `arch` for the data `data` describes (input shape and
/// classes from data::dataset_info, its --classes subset included) holding
/// the tensors of `state`, renamed by `map` (nullptr: none; names the map
/// does not list are taken as they are). A tensor fits when its (renamed)
/// name is one of the network's parameters or buffers, its shape is the
/// same and its dtype converts exactly: float32 for float32; float16 and
/// bfloat16 always, float64 when every value is a float32 value; any
/// integer dtype (not bool) for the int64 BatchNorm counters
/// (num_batches_tracked); the values must be finite. Every parameter and
/// buffer must be given, num_batches_tracked included (as
/// load_state_dict(strict=True) requires). Throws one sdn::Error naming
/// `source` and listing every problem (at most kMaxListedProblems lines,
/// then how many more): name map lines whose name the file lacks, two
/// tensors given the same name, tensors the network lacks (unexpected),
/// tensors it needs (missing), and wrong shapes, dtypes and values. Also
/// throws, as the data options and backbone options do, for an unknown
/// arch or data set.
network::SdnNetwork import_network(
    const std::string& arch,
    const data::DataOptions& data,
    const StateDict& state,
    const NameMap* map,
    const std::string& source);

/// What `sdn import` is given.
struct ImportOptions {
  std::string arch; ///< --arch
  data::DataOptions data; ///< The data the network is for (as sdn train's).
  std::string from; ///< --from: the state_dict file.
  std::string name_map; ///< --name-map ("": none).
  std::string out; ///< --out: the checkpoint folder to create.
};

/// Reads options.from (read_state_dict) and options.name_map
/// (parse_name_map), builds the network (import_network) and writes the
/// checkpoint folder options.out whole (util/files.h write_folder_atomic,
/// under its output lock): model.pt and meta.json of a cnn checkpoint at
/// epoch 0 whose config is the cnn recipe of `arch` on `data` and whose
/// imported_from names the file. `data` is recorded as sdn train records
/// it (data::Splits::options): an image folder's or Tiny ImageNet's class
/// names, and an image folder's mean and std, computed on its training
/// split (which is decoded for it) unless --mean/--std give them. Returns
/// its sidecar. Throws sdn::Error,
/// writing nothing, for what those refuse and when options.out exists and
/// is not an empty folder (a checkpoint there is never replaced).
CheckpointMeta import_checkpoint(const ImportOptions& options);

} // namespace sdn::checkpoint
