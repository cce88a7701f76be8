#include "sdn/analysis/npy.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

using namespace sdn::analysis;

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Npy, HeaderIsByteExact) {
  // magic (6) + version 1.0 (2) + little-endian length (2) + dict, spaces,
  // '\n'. The dict is 62 chars; 10 + 62 + 1 = 73, padded to 128, so the
  // header length is 118 = 0x76 ('v'). numpy 1.24's np.save writes the same
  // bytes for this shape.
  const std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
  ASSERT_EQ(dict.size(), 62u);
  const std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
      dict + std::string(55, ' ') + "\n";
  const std::string got = npy_header_bytes("<f4", {2, 3, 4});
  EXPECT_EQ(got.size(), 128u);
  EXPECT_EQ(got, expected);
  // 1-D shapes print as (5,); 10 + 57 + 1 = 68 -> 128 again.
  const std::string one_d = npy_header_bytes("<i8", {5});
  EXPECT_EQ(one_d.size(), 128u);
  EXPECT_NE(one_d.find("'shape': (5,), }"), std::string::npos);
  EXPECT_EQ(one_d.back(), '\n');
  // A short header pads to 64: "{'descr': '<f4', 'fortran_order': False,
  // 'shape': (), }" is 54 chars, 10 + 54 + 1 = 65 -> 128; the data offset
  // is always a multiple of 64.
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {}, {1}, {10000, 7, 200}, {123456789, 1}}) {
    EXPECT_EQ(npy_header_bytes("<f4", shape).size() % 64, 0u);
  }
}

TEST(Npy, RoundTripsFloatAndInt) {
  const std::string dir = fixtures::temp_dir("npy_round_trip");
  const std::vector<float> f = {0.5F, -1.25F, 3.0F, 1e-8F, 0.0F, 7.0F};
  write_npy(dir + "/f.npy", f, {2, 3});
  const NpyFloat32 rf = read_npy_float32(dir + "/f.npy");
  EXPECT_EQ(rf.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(rf.data, f);
  const std::vector<int64_t> i = {0, -3, 1LL << 40};
  write_npy(dir + "/i.npy", i, {3});
  const NpyInt64 ri = read_npy_int64(dir + "/i.npy");
  EXPECT_EQ(ri.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(ri.data, i);
  const NpyHeader h = parse_npy_header(sdn::read_file(dir + "/i.npy"), "i.npy");
  EXPECT_EQ(h.descr, "<i8");
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(h.data_offset, 128u);
}

TEST(Npy, ReadsOtherWidthsAndVersion2) {
  const std::string dir = fixtures::temp_dir("npy_widths");
  // '<f8' [2] = {0.25, 2.0}, header version 2.0 (4-byte length).
  std::string dict =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  dict += std::string(64 - (12 + dict.size() + 1) % 64, ' ') + "\n";
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t len = static_cast<uint32_t>(dict.size());
  bytes.append(reinterpret_cast<const char*>(&len), 4);
  bytes += dict;
  const double values[2] = {0.25, 2.0};
  bytes.append(reinterpret_cast<const char*>(values), sizeof(values));
  sdn::write_file_atomic(dir + "/d.npy", bytes);
  const NpyFloat32 r = read_npy_float32(dir + "/d.npy");
  EXPECT_EQ(r.data, (std::vector<float>{0.25F, 2.0F}));
  // '<i4' labels widen to int64.
  std::string i4 = npy_header_bytes("<i4", {2});
  const int32_t ints[2] = {7, -1};
  i4.append(reinterpret_cast<const char*>(ints), sizeof(ints));
  sdn::write_file_atomic(dir + "/i4.npy", i4);
  EXPECT_EQ(
      read_npy_int64(dir + "/i4.npy").data, (std::vector<int64_t>{7, -1}));
}

TEST(Npy, RejectsBadFilesNamingThem) {
  const std::string dir = fixtures::temp_dir("npy_bad");
  sdn::write_file_atomic(dir + "/magic.npy", "PK\x03\x04 not numpy at all");
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/magic.npy");
      }).find("magic.npy: not a .npy file"),
      std::string::npos);

  std::string big_endian = npy_header_bytes(">f4", {1});
  big_endian.append(4, '\0');
  sdn::write_file_atomic(dir + "/be.npy", big_endian);
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/be.npy");
      }).find("be.npy: dtype '>f4'"),
      std::string::npos);

  std::string fortran = npy_header_bytes("<f4", {2, 2});
  const size_t pos = fortran.find("False");
  fortran.replace(pos, 5, "True ");
  fortran.append(16, '\0');
  sdn::write_file_atomic(dir + "/fortran.npy", fortran);
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/fortran.npy");
      }).find("Fortran"),
      std::string::npos);

  std::string truncated = encode_npy(std::vector<float>(6, 0.5F), {2, 3});
  truncated.resize(truncated.size() - 4);
  sdn::write_file_atomic(dir + "/short.npy", truncated);
  const std::string msg =
      error_message([&] { read_npy_float32(dir + "/short.npy"); });
  EXPECT_NE(msg.find("short.npy: holds 20 data bytes"), std::string::npos)
      << msg;

  // Shapes whose element count or byte size overflows 64 bits (found by
  // fuzz/npy.cpp): rejected, never multiplied past the range.
  const std::string huge = npy_header_bytes("<f4", {1LL << 40, 1LL << 40});
  sdn::write_file_atomic(dir + "/huge.npy", huge);
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/huge.npy");
      }).find("huge.npy: bad .npy header (shape (1099511627776, "),
      std::string::npos);
  // 2^61 elements of 8 bytes: 2^64 bytes, which wraps to 0 in size_t.
  sdn::write_file_atomic(
      dir + "/wraps.npy", npy_header_bytes("<i8", {1LL << 61}));
  EXPECT_NE(
      error_message([&] {
        read_npy_int64(dir + "/wraps.npy");
      }).find("wraps.npy: holds 0 data bytes"),
      std::string::npos);

  std::string garbled = npy_header_bytes("<f4", {2});
  garbled.replace(garbled.find("'shape'"), 7, "'shapy'");
  sdn::write_file_atomic(dir + "/garbled.npy", garbled);
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/garbled.npy");
      }).find("bad .npy header"),
      std::string::npos);

  // numpy itself would read the last 'shape'; sdn refuses to guess.
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
      "'shape': (2,), }";
  dict.append(64 - (10 + dict.size() + 1) % 64, ' ');
  dict += '\n';
  std::string repeated("\x93NUMPY\x01\x00", 8);
  repeated += static_cast<char>(dict.size() & 0xff);
  repeated += static_cast<char>(dict.size() >> 8);
  repeated += dict + std::string(8, '\0');
  sdn::write_file_atomic(dir + "/repeated.npy", repeated);
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/repeated.npy");
      }).find("repeated key 'shape'"),
      std::string::npos);

  // Nothing but padding may follow the dict.
  std::string junk = npy_header_bytes("<f4", {2});
  const size_t close = junk.find('}');
  junk.replace(close + 1, 5, " junk");
  sdn::write_file_atomic(dir + "/junk.npy", junk + std::string(8, '\0'));
  EXPECT_NE(
      error_message([&] {
        read_npy_float32(dir + "/junk.npy");
      }).find("text after the header's dict"),
      std::string::npos);

  EXPECT_THROW(encode_npy(std::vector<float>(5), {2, 3}), sdn::Error);
}

} // namespace
