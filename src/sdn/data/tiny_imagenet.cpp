// Tiny ImageNet reader: lists the JPEG tree, then decodes with libjpeg-turbo
// on every core.
#include "sdn/data/tiny_imagenet.h"

#include "sdn/device/threads.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/progress.h"

// jpeglib.h uses size_t and FILE without including their headers.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
// jerror.h after jpeglib.h: it needs its types.
#include <jerror.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csetjmp>
#include <cstring>
#include <exception>
#include <filesystem>
#include <sstream>
#include <thread>

namespace sdn::data {

namespace {

namespace fs = std::filesystem;

// libjpeg's default error_exit calls exit(); ours jumps back to the decoder.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

// Warnings stay silent, except that a file cut short is an error (libjpeg
// would pad it with grey; PIL refuses truncated images too).
void jpeg_warning(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<JpegError*>(cinfo->err)->truncated = true;
  }
}

// C-style on purpose: no object with a destructor lives between setjmp and
// longjmp. Returns an empty string on success, else what went wrong.
std::string decode_or_message(
    const std::string& bytes,
    int64_t side,
    uint8_t* out,
    std::vector<uint8_t>& row) {
  jpeg_decompress_struct cinfo;
  JpegError error;
  cinfo.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = jpeg_error_exit;
  error.manager.emit_message = jpeg_warning;
  error.message[0] = '\0';
  error.truncated = false;
  row.resize(static_cast<size_t>(3 * side));
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return std::string("undecodable JPEG: ") + error.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(
      &cinfo,
      reinterpret_cast<const unsigned char*>(bytes.data()),
      static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool grey = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  if (!grey && cinfo.num_components != 3) {
    jpeg_destroy_decompress(&cinfo);
    return "unsupported JPEG with " + std::to_string(cinfo.num_components) +
        " components";
  }
  // The size before jpeg_start_decompress, which allocates for it: a
  // progressive JPEG's header alone can ask for gigabytes
  // (fuzz/regressions/jpeg/).
  if (static_cast<int64_t>(cinfo.image_width) != side ||
      static_cast<int64_t>(cinfo.image_height) != side) {
    const std::string message = "image is " +
        std::to_string(cinfo.image_width) + "x" +
        std::to_string(cinfo.image_height) + ", expected " +
        std::to_string(side) + "x" + std::to_string(side);
    jpeg_destroy_decompress(&cinfo);
    return message;
  }
  cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (static_cast<int64_t>(cinfo.output_width) != side ||
      static_cast<int64_t>(cinfo.output_height) != side) {
    jpeg_destroy_decompress(&cinfo);
    return "unexpected JPEG output size";
  }
  const int64_t plane = side * side;
  while (cinfo.output_scanline < cinfo.output_height) {
    const int64_t y = cinfo.output_scanline;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int64_t x = 0; x < side; ++x) {
      for (int64_t c = 0; c < 3; ++c) {
        out[c * plane + y * side + x] = grey ? row[x] : row[3 * x + c];
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return error.truncated ? "truncated JPEG data" : "";
}

// The non-empty lines of `text`, without a trailing '\r'.
std::vector<std::string> split_lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string read_text(const std::string& path) {
  check(fs::exists(path), "missing file ", path);
  return read_file(path);
}

bool is_jpeg_name(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return ext == ".jpeg" || ext == ".jpg";
}

struct FileList {
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
};

// Decodes every file into a Dataset, splitting the list across threads.
Dataset decode_all(
    const FileList& files,
    int64_t side,
    const std::string& label,
    bool show_progress) {
  const auto n = static_cast<int64_t>(files.paths.size());
  Dataset out;
  out.images = torch::empty({n, 3, side, side}, torch::kUInt8);
  out.labels = torch::tensor(files.labels, torch::kInt64);
  auto* images = out.images.data_ptr<uint8_t>();
  const int workers = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(hardware_threads(), n)));
  std::atomic<int64_t> done{0};
  std::vector<std::exception_ptr> errors(static_cast<size_t>(workers));
  std::vector<int64_t> error_index(static_cast<size_t>(workers), n);
  auto work = [&](int w) {
    std::vector<uint8_t> row;
    // Strided so both workers see a similar mix of file sizes.
    for (int64_t i = w; i < n; i += workers) {
      try {
        const std::string& path = files.paths[static_cast<size_t>(i)];
        check(fs::exists(path), "missing file ", path);
        const std::string message = decode_or_message(
            read_file(path), side, images + i * 3 * side * side, row);
        check(message.empty(), path, ": ", message);
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();
        error_index[static_cast<size_t>(w)] = i;
        return;
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back(work, w);
  }
  Progress progress(label, n, "img", show_progress);
  int64_t shown = 0;
  auto running = [&] {
    for (int w = 0; w < workers; ++w) {
      if (errors[static_cast<size_t>(w)]) {
        return false;
      }
    }
    return done.load() < n;
  };
  while (running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t now = done.load();
    progress.advance(now - shown);
    shown = now;
  }
  for (auto& t : threads) {
    t.join();
  }
  // Report the error of the earliest file so the message is deterministic.
  int64_t first = n;
  std::exception_ptr error;
  for (int w = 0; w < workers; ++w) {
    if (errors[static_cast<size_t>(w)] &&
        error_index[static_cast<size_t>(w)] < first) {
      first = error_index[static_cast<size_t>(w)];
      error = errors[static_cast<size_t>(w)];
    }
  }
  if (error) {
    std::rethrow_exception(error);
  }
  progress.advance(done.load() - shown);
  progress.finish();
  return out;
}

} // namespace

void decode_jpeg_rgb(
    const std::string& bytes,
    const std::string& path,
    int64_t side,
    uint8_t* out) {
  std::vector<uint8_t> row;
  const std::string message = decode_or_message(bytes, side, out, row);
  check(message.empty(), path, ": ", message);
}

std::vector<std::string> parse_wnids(
    const std::string& text,
    const std::string& path) {
  std::vector<std::string> wnids = split_lines(text);
  std::sort(wnids.begin(), wnids.end());
  const auto duplicate = std::adjacent_find(wnids.begin(), wnids.end());
  if (duplicate != wnids.end()) {
    fail(path, ": duplicate wnid '", *duplicate, "'");
  }
  return wnids;
}

std::vector<ValAnnotation> parse_val_annotations(
    const std::string& text,
    const std::vector<std::string>& wnids,
    const std::string& path) {
  const auto lines = split_lines(text);
  check(!lines.empty(), path, ": no annotations");
  std::vector<ValAnnotation> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t tab1 = line.find('\t');
    check(
        tab1 != std::string::npos && tab1 > 0,
        path,
        " line ",
        i + 1,
        ": expected file<TAB>wnid, got '",
        line,
        "'");
    const size_t tab2 = line.find('\t', tab1 + 1);
    const std::string wnid = line.substr(
        tab1 + 1, tab2 == std::string::npos ? tab2 : tab2 - tab1 - 1);
    const auto it = std::lower_bound(wnids.begin(), wnids.end(), wnid);
    check(
        it != wnids.end() && *it == wnid,
        path,
        " line ",
        i + 1,
        ": unknown wnid '",
        wnid,
        "'");
    out.push_back(ValAnnotation{line.substr(0, tab1), it - wnids.begin()});
  }
  return out;
}

Splits read_tiny_imagenet_splits(
    const std::string& data_dir,
    const DatasetInfo& info,
    bool show_progress) {
  check(
      !data_dir.empty(),
      "tiny-imagenet needs --data-dir: the folder holding tiny-imagenet-200 "
      "or that folder itself");
  check_is_folder(data_dir, "--data-dir");
  fs::path root = fs::path(data_dir) / "tiny-imagenet-200";
  if (!fs::is_directory(root)) {
    check(
        fs::exists(fs::path(data_dir) / "wnids.txt"),
        "missing folder ",
        root.string(),
        " (and ",
        data_dir,
        " holds no wnids.txt)");
    root = data_dir;
  }
  const std::string wnids_path = (root / "wnids.txt").string();
  const std::vector<std::string> wnids =
      parse_wnids(read_text(wnids_path), wnids_path);
  check(
      static_cast<int64_t>(wnids.size()) == info.num_classes,
      wnids_path,
      ": ",
      wnids.size(),
      " wnids, expected ",
      info.num_classes);

  FileList train;
  for (size_t c = 0; c < wnids.size(); ++c) {
    const fs::path dir = root / "train" / wnids[c] / "images";
    check(fs::is_directory(dir), "missing folder ", dir.string());
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.is_regular_file() && is_jpeg_name(entry.path())) {
        names.push_back(entry.path().string());
      }
    }
    check(!names.empty(), dir.string(), ": no JPEG images");
    std::sort(names.begin(), names.end());
    for (auto& name : names) {
      train.paths.push_back(std::move(name));
      train.labels.push_back(static_cast<int64_t>(c));
    }
  }

  FileList test;
  const std::string annotations =
      (root / "val" / "val_annotations.txt").string();
  for (const ValAnnotation& a :
       parse_val_annotations(read_text(annotations), wnids, annotations)) {
    fs::path path = root / "val" / "images" / a.file;
    const fs::path moved =
        root / "val" / "images" / wnids[static_cast<size_t>(a.label)] / a.file;
    if (!fs::exists(path) && fs::exists(moved)) {
      path = moved;
    }
    test.paths.push_back(path.string());
    test.labels.push_back(a.label);
  }

  Splits splits;
  splits.info = info;
  splits.info.class_names = wnids;
  splits.train =
      decode_all(train, info.side, "tiny-imagenet train", show_progress);
  splits.test = decode_all(test, info.side, "tiny-imagenet val", show_progress);
  return splits;
}

} // namespace sdn::data
