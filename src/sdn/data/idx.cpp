// IDX reader (MNIST, Fashion-MNIST): big-endian header, then raw bytes.
#include "sdn/data/idx.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
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

// Decompresses gzip data. `limit(prefix)` bounds the output: it is asked
// after every chunk with what has been decompressed so far and returns the
// most bytes the content may hold, so a small file that inflates to
// gigabytes fails before it is held in memory.
std::string gunzip(
    const std::string& compressed,
    const std::string& path,
    const std::function<uint64_t(const std::string&)>& limit) {
  // zlib's state is freed on every way out, including a throwing `limit`.
  struct Inflater {
    z_stream stream{};
    ~Inflater() {
      inflateEnd(&stream);
    }
  } z;
  z_stream& stream = z.stream;
  // 16 + MAX_WBITS: expect a gzip header and trailer.
  check(
      inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK,
      "cannot initialise zlib for ",
      path);
  std::string out;
  std::vector<char> buffer(kInflateChunk);
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  // The file is read whole, so it is far below 4 GiB here (read_maybe_gzip).
  stream.avail_in = static_cast<uInt>(compressed.size());
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    ret = inflate(&stream, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      const std::string message = stream.msg ? stream.msg : "no more input";
      fail(
          path,
          ": corrupt or truncated gzip data (",
          ret == Z_BUF_ERROR ? "unexpected end of file" : message,
          ")");
    }
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    const uint64_t most = limit(out);
    check(
        out.size() <= most,
        path,
        ": decompresses to more than the ",
        most,
        " bytes its header allows");
  }
  // gzip allows members concatenated after the first; an IDX file is one
  // member, so anything after it is refused rather than silently dropped.
  check(
      stream.avail_in == 0,
      path,
      ": ",
      stream.avail_in,
      " bytes after the end of the gzip data (a second gzip member or "
      "trailing garbage; expected one gzip member)");
  return out;
}

// The IDX header at the start of `bytes`: its dimensions, or nothing while
// fewer bytes than the header are there.
std::optional<std::vector<int64_t>> idx_header(
    const std::string& bytes,
    const std::string& path,
    uint32_t magic,
    const char* what) {
  if (bytes.size() < 4) {
    return std::nullopt;
  }
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
  if (bytes.size() < 4 + 4 * ndims) {
    return std::nullopt;
  }
  std::vector<int64_t> dims;
  for (size_t d = 0; d < ndims; ++d) {
    dims.push_back(read_be32(bytes, 4 + 4 * d));
  }
  return dims;
}

// Header plus payload bytes an IDX file with `dims` holds (one byte per
// value), or fails naming the file when the product overflows.
uint64_t idx_file_size(
    const std::vector<int64_t>& dims,
    const std::string& path) {
  uint64_t size = 1;
  for (const int64_t d : dims) {
    check(
        !__builtin_mul_overflow(size, static_cast<uint64_t>(d), &size),
        path,
        ": header dimensions overflow");
  }
  return size + 4 + 4 * dims.size();
}

// The bytes of an IDX file (plain or gzip) with a checked header: the
// content is exactly header + product of the dimensions.
std::string read_idx_bytes(
    const std::string& path,
    uint32_t magic,
    const char* what,
    std::vector<int64_t>& dims) {
  const std::string bytes =
      read_maybe_gzip(path, [&](const std::string& prefix) {
        const auto header = idx_header(prefix, path, magic, what);
        return header ? idx_file_size(*header, path) :
                        std::numeric_limits<uint64_t>::max();
      });
  const size_t header_size = 4 + 4 * (magic & 0xffu);
  const auto header = idx_header(bytes, path, magic, what);
  check(
      bytes.size() >= 4,
      path,
      ": not an IDX file (only ",
      bytes.size(),
      " bytes)");
  check(
      header.has_value(),
      path,
      ": truncated IDX header (",
      bytes.size(),
      " bytes, need ",
      header_size,
      ")");
  dims = *header;
  const uint64_t expected = idx_file_size(dims, path);
  const uint64_t payload = expected - header_size;
  const uint64_t actual = bytes.size() - header_size;
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
  return bytes;
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

std::string read_maybe_gzip(
    const std::string& path,
    const std::function<uint64_t(const std::string&)>& limit) {
  check(fs::exists(path), "missing file ", path);
  std::string bytes = read_file(path);
  const bool gzip = bytes.size() >= 2 &&
      static_cast<unsigned char>(bytes[0]) == 0x1f &&
      static_cast<unsigned char>(bytes[1]) == 0x8b;
  if (!gzip) {
    return bytes; // its size is its own bound: it is in memory already
  }
  check(
      bytes.size() < std::numeric_limits<uInt>::max(),
      path,
      ": gzip file of ",
      bytes.size(),
      " bytes is too large");
  return gunzip(bytes, path, limit);
}

torch::Tensor read_idx_images(const std::string& path, int64_t side) {
  std::vector<int64_t> dims;
  const std::string bytes = read_idx_bytes(path, kImageMagic, "images", dims);
  const int64_t n = dims[0], rows = dims[1], cols = dims[2];
  // Images are centred in side x side; at least half the side per edge, so
  // that the padded tensor is at most 4x the file's pixels.
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
  check(
      2 * rows >= side && 2 * cols >= side,
      path,
      ": images are ",
      rows,
      "x",
      cols,
      ", smaller than half of ",
      side,
      "x",
      side);
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
  std::vector<int64_t> dims;
  const std::string bytes = read_idx_bytes(path, kLabelMagic, "labels", dims);
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
  check_is_folder(dir, "--data-dir");
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
