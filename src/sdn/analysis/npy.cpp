#include "sdn/analysis/npy.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <utility>

namespace sdn::analysis {

namespace {

// The magic string every .npy file starts with.
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy aligns the data to 64 bytes so memory-mapped arrays stay aligned.
constexpr size_t kAlign = 64;

// .npy stores little-endian data; we copy bytes, so the host must match.
void check_little_endian() {
  const uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  check(first == 1, "the .npy reader/writer needs a little-endian host");
}

std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) {
    out += ",";
  }
  return out + ")";
}

// The number of elements of `shape`, or -1 when it does not fit in 64 bits.
int64_t checked_element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  bool overflow = false;
  for (const int64_t d : shape) {
    check(d >= 0, "negative dimension in shape ", shape_repr(shape));
    overflow = __builtin_mul_overflow(n, d, &n) || overflow;
  }
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    return 0;
  }
  return overflow ? -1 : n;
}

int64_t element_count(const std::vector<int64_t>& shape) {
  const int64_t n = checked_element_count(shape);
  check(n >= 0, "shape ", shape_repr(shape), " has over 2^63 elements");
  return n;
}

// A tiny parser for the Python dict literal in the header; it accepts exactly
// what numpy writes (and its usual variants: either quote, optional spaces,
// trailing comma, Python 2's 'L' suffix on ints).
class HeaderParser {
 public:
  HeaderParser(std::string text, std::string name)
      : text_(std::move(text)), name_(std::move(name)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool have_descr = false;
    bool have_order = false;
    bool have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = parse_string();
      expect(':');
      // A repeated key is ambiguous (Python's dict keeps the last one).
      const auto once = [&](bool& have) {
        if (have) {
          bad(str_cat("repeated key '", key, "'"));
        }
        have = true;
      };
      if (key == "descr") {
        once(have_descr);
        header.descr = parse_string();
      } else if (key == "fortran_order") {
        once(have_order);
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        once(have_shape);
        header.shape = parse_tuple();
      } else {
        bad(str_cat("unexpected key '", key, "'"));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        bad("expected ',' or '}'");
      }
    }
    if (!have_descr || !have_order || !have_shape) {
      bad("needs the keys 'descr', 'fortran_order' and 'shape'");
    }
    // Only the padding (spaces, then a newline) may follow the dict.
    skip_space();
    if (pos_ != text_.size()) {
      bad("text after the header's dict");
    }
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(name_, ": bad .npy header (", what, " at offset ", pos_, ")");
  }
  char peek() const {
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  void skip_space() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) {
      bad(str_cat("expected '", c, "'"));
    }
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') {
      bad("expected a quoted string");
    }
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) {
      bad("unterminated string");
    }
    std::string out = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    skip_space();
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        bad("expected a non-negative integer in the shape");
      }
      int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) {
          bad("dimension too large");
        }
        value = value * 10 + (peek() - '0');
        ++pos_;
      }
      if (peek() == 'L') {
        ++pos_;
      }
      dims.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape");
      }
    }
  }

  std::string text_;
  std::string name_;
  size_t pos_ = 0;
};

template <typename T>
std::string encode(
    const std::vector<T>& data,
    const std::vector<int64_t>& shape,
    const char* descr) {
  check_little_endian();
  const int64_t n = element_count(shape);
  check(
      n == static_cast<int64_t>(data.size()),
      ".npy: shape ",
      shape_repr(shape),
      " holds ",
      n,
      " elements but ",
      data.size(),
      " were given");
  std::string out = npy_header_bytes(descr, shape);
  const size_t header_size = out.size();
  out.resize(header_size + data.size() * sizeof(T));
  if (!data.empty()) {
    std::memcpy(&out[header_size], data.data(), data.size() * sizeof(T));
  }
  return out;
}

// Validates the header and returns a pointer to the data of `count` elements
// of `item_size` bytes.
const char* data_start(
    const std::string& bytes,
    const NpyHeader& header,
    size_t item_size,
    const std::string& path) {
  check(
      !header.fortran_order,
      path,
      ": Fortran-ordered arrays are not supported (save with C order)");
  const int64_t n = header.num_elements();
  const size_t available = bytes.size() - header.data_offset;
  // n * item_size may overflow; n <= available / item_size first.
  const bool fits = static_cast<uint64_t>(n) <= available / item_size;
  check(
      fits && static_cast<size_t>(n) * item_size == available,
      path,
      ": holds ",
      available,
      " data bytes but shape ",
      shape_repr(header.shape),
      " of '",
      header.descr,
      "' needs ",
      fits ? std::to_string(static_cast<size_t>(n) * item_size) :
             str_cat(n, " x ", item_size));
  return bytes.data() + header.data_offset;
}

template <typename Src, typename Dst>
std::vector<Dst> convert(const char* src, int64_t n) {
  std::vector<Dst> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, src + i * sizeof(Src), sizeof(Src));
    out[static_cast<size_t>(i)] = static_cast<Dst>(v);
  }
  return out;
}

} // namespace

int64_t NpyHeader::num_elements() const {
  return element_count(shape);
}

std::string npy_header_bytes(
    const std::string& descr,
    const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '" + descr +
      "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  // magic(6) + version(2) + header length(2) + dict + padding + '\n'.
  const size_t prefix = kMagicLen + 2 + 2;
  const size_t unpadded = prefix + dict.size() + 1;
  const size_t padding = (kAlign - unpadded % kAlign) % kAlign;
  dict.append(padding, ' ');
  dict.push_back('\n');
  check(dict.size() <= 0xffff, ".npy header too long for version 1.0");
  std::string out(kMagic, kMagicLen);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  return out + dict;
}

NpyHeader parse_npy_header(const std::string& bytes, const std::string& name) {
  check(
      bytes.size() >= kMagicLen + 4 &&
          bytes.compare(0, kMagicLen, kMagic, kMagicLen) == 0,
      name,
      ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[kMagicLen]);
  check(
      major >= 1 && major <= 3,
      name,
      ": unsupported .npy version ",
      major,
      ".",
      static_cast<int>(static_cast<unsigned char>(bytes[kMagicLen + 1])));
  size_t header_len = 0;
  size_t len_bytes = major == 1 ? 2 : 4;
  check(
      bytes.size() >= kMagicLen + 2 + len_bytes,
      name,
      ": truncated .npy header");
  for (size_t i = 0; i < len_bytes; ++i) {
    header_len |= static_cast<size_t>(
                      static_cast<unsigned char>(bytes[kMagicLen + 2 + i]))
        << (8 * i);
  }
  const size_t start = kMagicLen + 2 + len_bytes;
  check(
      bytes.size() >= start + header_len,
      name,
      ": truncated .npy header (says ",
      header_len,
      " bytes, file has ",
      bytes.size() - start,
      ")");
  NpyHeader header =
      HeaderParser(bytes.substr(start, header_len), name).parse();
  check(
      checked_element_count(header.shape) >= 0,
      name,
      ": bad .npy header (shape ",
      shape_repr(header.shape),
      " has over 2^63 elements)");
  header.major_version = major;
  header.data_offset = start + header_len;
  return header;
}

std::string encode_npy(
    const std::vector<float>& data,
    const std::vector<int64_t>& shape) {
  return encode(data, shape, "<f4");
}

std::string encode_npy(
    const std::vector<int64_t>& data,
    const std::vector<int64_t>& shape) {
  return encode(data, shape, "<i8");
}

void write_npy(
    const std::string& path,
    const std::vector<float>& data,
    const std::vector<int64_t>& shape) {
  write_file_atomic(path, encode_npy(data, shape));
}

void write_npy(
    const std::string& path,
    const std::vector<int64_t>& data,
    const std::vector<int64_t>& shape) {
  write_file_atomic(path, encode_npy(data, shape));
}

NpyFloat32 read_npy_float32(const std::string& path) {
  check_little_endian();
  const std::string bytes = read_file(path);
  const NpyHeader header = parse_npy_header(bytes, path);
  NpyFloat32 out;
  out.shape = header.shape;
  const int64_t n = header.num_elements();
  if (header.descr == "<f4") {
    out.data = convert<float, float>(data_start(bytes, header, 4, path), n);
  } else if (header.descr == "<f8") {
    out.data = convert<double, float>(data_start(bytes, header, 8, path), n);
  } else {
    fail(
        path,
        ": dtype '",
        header.descr,
        "' is not a little-endian float ('<f4' or '<f8')");
  }
  return out;
}

NpyInt64 read_npy_int64(const std::string& path) {
  check_little_endian();
  const std::string bytes = read_file(path);
  const NpyHeader header = parse_npy_header(bytes, path);
  NpyInt64 out;
  out.shape = header.shape;
  const int64_t n = header.num_elements();
  const std::string& d = header.descr;
  if (d == "<i8") {
    out.data = convert<int64_t, int64_t>(data_start(bytes, header, 8, path), n);
  } else if (d == "<i4") {
    out.data = convert<int32_t, int64_t>(data_start(bytes, header, 4, path), n);
  } else if (d == "<i2") {
    out.data = convert<int16_t, int64_t>(data_start(bytes, header, 2, path), n);
  } else if (d == "|i1") {
    out.data = convert<int8_t, int64_t>(data_start(bytes, header, 1, path), n);
  } else if (d == "|u1") {
    out.data = convert<uint8_t, int64_t>(data_start(bytes, header, 1, path), n);
  } else {
    fail(
        path,
        ": dtype '",
        d,
        "' is not a little-endian integer ('<i8', '<i4', '<i2', '|i1' or "
        "'|u1')");
  }
  return out;
}

} // namespace sdn::analysis
