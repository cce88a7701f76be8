#pragma once

// Class names as data sets give them (image folders' class folders, Tiny
// ImageNet's wnids) and as checkpoints record them (config.data.class_names,
// docs/data.md#image-folders): the checks shared by every reader.

#include <string>
#include <vector>

namespace sdn::data {

/// Throws sdn::Error unless `name` can be stored as a class name: valid
/// UTF-8 (checkpoints, reports and the server's answers keep class names in
/// JSON, which has no other encoding). "SOURCE: the class name is not valid
/// UTF-8 (bytes ...): rename it", with the name's bytes in hex.
void check_class_name(const std::string& name, const std::string& source);

/// Throws sdn::Error unless `found` equals `expected` (same names, same
/// order: a class's index is its position). The message names `source`,
/// says what was found (`what`, e.g. "class folders") against what
/// (`against`, e.g. "the 3 classes recorded for this data") and lists up to
/// five names on each side: "SOURCE: its 4 class folders differ from the 3
/// classes recorded for this data (missing 'cat'; extra 'dog', 'emu')", or
/// "(the same names in another order)".
void check_same_class_names(
    const std::vector<std::string>& found,
    const std::vector<std::string>& expected,
    const std::string& source,
    const std::string& what,
    const std::string& against);

} // namespace sdn::data
