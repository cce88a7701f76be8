// IDX reader (MNIST, Fashion-MNIST): big-endian header, then raw bytes.
#include "sdn/data/idx.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

namespace sdn::data {

namespace {

namespace fs = std::filesystem;

// IDX magic numbers: 0x0000 0803 (ubyte, 3 dims) and 0x0000 0801 (ubyte, 1).
constexpr uint32_t kImageMagic = 2051;
constexpr uint32_t kLabelMagic = 2049;
// Inflate in chunks: the output size is unknown up front.
constexpr size_t kInflateChunk = size_t{1} << 20;

uint32_t read_be32(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  return (uint32_t{p[offset]} << 24) | (uint32_t{p[offset + 1]} << 16) |
      (uint32_t{p[offset + 2]} << 8) | uint32_t{p[offset + 3]};
}

std::string gunzip(const std::string& compressed, const std::string& path) {
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip header and trailer.
  check(
      inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK,
      "cannot initialise zlib for ",
      path);
  std::string out;
  std::vector<char> buffer(kInflateChunk);
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    ret = inflate(&stream, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      const std::string message = stream.msg ? stream.msg : "no more input";
      inflateEnd(&stream);
      fail(
          path,
          ": corrupt or truncated gzip data (",
          ret == Z_BUF_ERROR ? "unexpected end of file" : message,
          ")");
    }
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  return out;
}

// Checks the header of an IDX file and returns its dimensions.
std::vector<int64_t> idx_dims(
    const std::string& bytes,
    const std::string& path,
    uint32_t magic,
    const char* what) {
  check(
      bytes.size() >= 4,
      path,
      ": not an IDX file (only ",
      bytes.size(),
      " bytes)");
  const uint32_t found = read_be32(bytes, 0);
  check(
      found == magic,
      path,
      ": wrong IDX magic ",
      found,
      " for ",
      what,
      " (expected ",
      magic,
      ")");
  const size_t ndims = magic & 0xffu;
  const size_t header = 4 + 4 * ndims;
  check(
      bytes.size() >= header,
      path,
      ": truncated IDX header (",
      bytes.size(),
      " bytes, need ",
      header,
      ")");
  std::vector<int64_t> dims;
  for (size_t d = 0; d < ndims; ++d) {
    dims.push_back(read_be32(bytes, 4 + 4 * d));
  }
  // Three 32-bit dimensions may multiply past 64 bits: such a header
  // promises more bytes than any file holds (unless a dimension is 0).
  int64_t payload = 1;
  bool overflow = false;
  for (const int64_t d : dims) {
    overflow = __builtin_mul_overflow(payload, d, &payload) || overflow;
  }
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    payload = 0;
    overflow = false;
  }
  check(
      !overflow,
      path,
      ": truncated: the header promises ",
      dims[0],
      " records, more bytes than any file holds");
  const auto actual = static_cast<int64_t>(bytes.size() - header);
  check(
      actual >= payload,
      path,
      ": truncated: the header promises ",
      dims[0],
      " records (",
      payload,
      " bytes) but only ",
      actual,
      " bytes follow");
  check(
      actual == payload,
      path,
      ": ",
      actual - payload,
      " unexpected bytes after the ",
      dims[0],
      " records");
  return dims;
}

// The first existing candidate (plain or gzip) for an IDX file name.
std::string find_idx_file(const std::string& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const fs::path path = fs::path(dir) / (stem + suffix);
    if (fs::exists(path)) {
      return path.string();
    }
  }
  fail("missing file ", (fs::path(dir) / stem).string(), "(.gz)");
}

bool has_idx_files(const std::string& dir) {
  const fs::path base = fs::path(dir) / "train-images-idx3-ubyte";
  return fs::exists(base) || fs::exists(base.string() + ".gz");
}

} // namespace

std::string read_maybe_gzip(const std::string& path) {
  check(fs::exists(path), "missing file ", path);
  std::string bytes = read_file(path);
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b) {
    return gunzip(bytes, path);
  }
  return bytes;
}

torch::Tensor read_idx_images(const std::string& path, int64_t side) {
  const std::string bytes = read_maybe_gzip(path);
  const auto dims = idx_dims(bytes, path, kImageMagic, "images");
  const int64_t n = dims[0], rows = dims[1], cols = dims[2];
  check(
      rows <= side && cols <= side,
      path,
      ": images are ",
      rows,
      "x",
      cols,
      ", larger than ",
      side,
      "x",
      side);
  // Empty images hold no bytes, so the file's size would not bound n: a
  // 16-byte header could ask for 2^32 padded images.
  check(
      rows > 0 && cols > 0, path, ": images are ", rows, "x", cols, " (empty)");
  auto images = torch::zeros({n, 1, side, side}, torch::kUInt8);
  auto* out = images.data_ptr<uint8_t>();
  const auto* in =
      reinterpret_cast<const uint8_t*>(bytes.data()) + 4 + 4 * dims.size();
  const int64_t top = (side - rows) / 2, left = (side - cols) / 2;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t y = 0; y < rows; ++y) {
      std::memcpy(
          out + (i * side + y + top) * side + left,
          in + (i * rows + y) * cols,
          static_cast<size_t>(cols));
    }
  }
  return images;
}

torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  const std::string bytes = read_maybe_gzip(path);
  const auto dims = idx_dims(bytes, path, kLabelMagic, "labels");
  auto labels = torch::empty({dims[0]}, torch::kInt64);
  auto* out = labels.data_ptr<int64_t>();
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data()) + 8;
  for (int64_t i = 0; i < dims[0]; ++i) {
    check(
        in[i] < num_classes,
        path,
        ": label ",
        int{in[i]},
        " of record ",
        i,
        " is out of range [0, ",
        num_classes,
        ")");
    out[i] = in[i];
  }
  return labels;
}

Splits read_idx_splits(const std::string& data_dir, const DatasetInfo& info) {
  std::string dir = data_dir;
  if (dir.empty()) {
    check(
        info.name == "fashion-mnist",
        info.name,
        " has no default location: pass --data-dir (the folder holding "
        "train-images-idx3-ubyte.gz etc.)");
    dir = kFashionMnistDir;
    check(
        fs::is_directory(dir),
        "missing folder ",
        dir,
        ": install Debian's dataset-fashion-mnist package or pass --data-dir");
  }
  check(fs::is_directory(dir), "missing folder ", dir, " (--data-dir)");
  // Accept the folder itself or its parent holding a folder named info.name.
  if (!has_idx_files(dir) && fs::is_directory(fs::path(dir) / info.name)) {
    dir = (fs::path(dir) / info.name).string();
  }
  Splits splits;
  splits.info = info;
  const struct {
    const char* prefix;
    Dataset* out;
  } parts[] = {{"train", &splits.train}, {"t10k", &splits.test}};
  for (const auto& part : parts) {
    const std::string images_path =
        find_idx_file(dir, std::string(part.prefix) + "-images-idx3-ubyte");
    const std::string labels_path =
        find_idx_file(dir, std::string(part.prefix) + "-labels-idx1-ubyte");
    part.out->images = read_idx_images(images_path, info.side);
    part.out->labels = read_idx_labels(labels_path, info.num_classes);
    check(
        part.out->images.size(0) == part.out->labels.size(0),
        images_path,
        " holds ",
        part.out->images.size(0),
        " images but ",
        labels_path,
        " holds ",
        part.out->labels.size(0),
        " labels");
  }
  return splits;
}

} // namespace sdn::data
