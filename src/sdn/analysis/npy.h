#pragma once

// Reading and writing numpy's .npy format (version 1.0 written; 1.0, 2.0 and
// 3.0 read), so traces load with numpy.load and need no sdn code to inspect.
// Format:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::analysis {

/// The parsed header of a .npy file.
struct NpyHeader {
  int major_version = 1; ///< 1, 2 or 3.
  std::string descr; ///< The dtype string, e.g. "<f4", "<i8".
  bool fortran_order = false; ///< True: column-major data (we reject it).
  std::vector<int64_t> shape; ///< Dimensions; empty for a 0-d array.
  size_t data_offset = 0; ///< Byte offset of the data after the header.

  /// Product of the dimensions (1 for a 0-d array).
  int64_t num_elements() const;
};

/// The bytes of a version-1.0 .npy header (magic through the closing
/// newline) for a C-ordered array of `descr` and `shape`, padded with spaces
/// so the data starts at a multiple of 64 bytes.
std::string npy_header_bytes(
    const std::string& descr,
    const std::vector<int64_t>& shape);

/// Parses the header of .npy `bytes`; `name` (a path) goes into error
/// messages. Throws sdn::Error for a bad magic, version or header dict, or a
/// file shorter than the header says.
NpyHeader parse_npy_header(const std::string& bytes, const std::string& name);

/// A float32 array read from .npy.
struct NpyFloat32 {
  std::vector<int64_t> shape; ///< Dimensions.
  std::vector<float> data; ///< Elements in C order.
};

/// An int64 array read from .npy.
struct NpyInt64 {
  std::vector<int64_t> shape; ///< Dimensions.
  std::vector<int64_t> data; ///< Elements in C order.
};

/// The complete .npy file ('<f4', C order) for `data` of `shape`.
std::string encode_npy(
    const std::vector<float>& data,
    const std::vector<int64_t>& shape);

/// The complete .npy file ('<i8', C order) for `data` of `shape`.
std::string encode_npy(
    const std::vector<int64_t>& data,
    const std::vector<int64_t>& shape);

/// Writes a float32 .npy atomically. Throws sdn::Error when the element
/// count does not match the shape or the file cannot be written.
void write_npy(
    const std::string& path,
    const std::vector<float>& data,
    const std::vector<int64_t>& shape);

/// Writes an int64 .npy atomically (as write_npy for float32).
void write_npy(
    const std::string& path,
    const std::vector<int64_t>& data,
    const std::vector<int64_t>& shape);

/// Reads a floating-point .npy ('<f4', or '<f8' converted to float) in C
/// order. Throws sdn::Error naming `path` for any other dtype, Fortran order,
/// a truncated file or a bad header.
NpyFloat32 read_npy_float32(const std::string& path);

/// Reads an integer .npy ('<i8', or '<i4' / '<i2' / '|i1' / '|u1' widened)
/// in C order. Throws sdn::Error naming `path` otherwise.
NpyInt64 read_npy_int64(const std::string& path);

} // namespace sdn::analysis
