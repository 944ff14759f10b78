#include "engine/io/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tests/io/io_test_util.h"

namespace ezivk::io {
namespace {

using io_test::read_bytes;
using io_test::TempDir;
using io_test::throws_error_with;
using io_test::write_bytes;

template <typename T>
std::vector<std::byte> to_bytes(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A .npy file built by hand: magic, version, header length field of the version's width, header, data.
std::string npy_bytes(int major, const std::string& header, size_t data_bytes) {
  std::string s = std::string("\x93NUMPY", 6) + char(major) + '\0';
  const size_t width = major == 1 ? 2 : 4;
  for (size_t i = 0; i < width; ++i) s += char((header.size() >> (8 * i)) & 0xff);
  return s + header + std::string(data_bytes, '\x01');
}

TEST(Npy, ReadsFixturesWrittenByNumpy) {
  const NpyArray f = read_npy(io_test::fixture_dir() / "sample_f32.npy");
  EXPECT_EQ(f.dtype, "<f4");
  EXPECT_EQ(f.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.numel(), 6);
  const auto v = f.as_f32();
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.0f, 0.25f, 1e-3f, 7.0f, -0.0f}));
  EXPECT_TRUE(std::signbit(v[5]));

  const NpyArray i = read_npy(io_test::fixture_dir() / "sample_i64.npy");
  EXPECT_EQ(i.dtype, "<i8");
  EXPECT_EQ(i.shape, (std::vector<int64_t>{5}));
  EXPECT_EQ(i.as_i64(), (std::vector<int64_t>{0, -1, int64_t(1) << 40, -(int64_t(1) << 62), 7}));
  EXPECT_EQ(i.as_f32(), (std::vector<float>{0.f, -1.f, 1099511627776.f, -4611686018427387904.f, 7.f}));
  EXPECT_TRUE(throws_error_with([&] { f.as_i64(); }, {"<f4", "int64"}));
}

TEST(Npy, WritesVersionOneHeaderPaddedTo64) {
  TempDir dir;
  const auto p = dir / "h.npy";
  const std::vector<float> vals = {1, 2, 3, 4, 5, 6};
  write_npy_f32(p, {2, 3}, vals.data());
  const std::string s = read_bytes(p);
  // 10 + 60 dict bytes pass 64, so the data starts at 128: a header length of 118 (0x76).
  std::string want = std::string("\x93NUMPY\x01\x00", 8) + "\x76" + std::string(1, '\0') +
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  want += std::string(127 - want.size(), ' ') + "\n";
  ASSERT_EQ(want.size(), 128u);
  ASSERT_EQ(s.size(), 128u + 24u);
  EXPECT_EQ(s.substr(0, 128), want);
  EXPECT_EQ(std::memcmp(s.data() + 128, vals.data(), 24), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / ("h.npy.tmp" + std::to_string(::getpid()))));

  // 0-d is "()" and 1-d "(n,)", as Python writes tuples; the data always starts at a multiple of 64.
  const float one = 4.f;
  for (const auto& [shape, text] : std::vector<std::pair<std::vector<int64_t>, std::string>>{
           {{}, "'shape': (), }"},
           {{1}, "'shape': (1,), }"},
           {{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
            "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"}}) {
    write_npy_f32(p, shape, &one);
    const std::string t = read_bytes(p);
    const size_t len = uint8_t(t[8]) | size_t(uint8_t(t[9])) << 8;
    EXPECT_EQ((10 + len) % 64, 0u) << text;
    EXPECT_EQ(t.size(), 10 + len + 4);
    EXPECT_EQ(t[9 + len], '\n');
    EXPECT_NE(t.find(text), std::string::npos) << t;
  }
}

TEST(Npy, WritesTheSameBytesAsNumpySave) {
  // numpy 1.24 pads headers with room for in-place growth of the first axis; for these two small arrays both
  // that padding and the plain 64-byte rule end at byte 128, so the files must match byte for byte.
  TempDir dir;
  for (const char* name : {"sample_f32.npy", "sample_i64.npy"}) {
    const auto fixture = io_test::fixture_dir() / name;
    write_npy(dir / name, read_npy(fixture));
    EXPECT_EQ(read_bytes(dir / name), read_bytes(fixture)) << name;
  }
}

TEST(Npy, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  const auto p = dir / "rt.npy";
  std::mt19937 rng(99);
  const std::vector<std::pair<std::string, size_t>> kinds = {{"<f2", 2}, {"<f4", 4}, {"<f8", 8}, {"|i1", 1},
                                                             {"<i2", 2}, {"<i4", 4}, {"<i8", 8}, {"|u1", 1},
                                                             {"<u2", 2}, {"<u4", 4}, {"<u8", 8}, {"|b1", 1}};
  const std::vector<std::vector<int64_t>> shapes = {{}, {7}, {2, 3, 4}, {0, 3}};
  for (const auto& [descr, size] : kinds) {
    for (const auto& shape : shapes) {
      NpyArray a;
      a.dtype = descr;
      a.shape = shape;
      a.data.resize(size_t(a.numel()) * size);
      for (auto& b : a.data) b = std::byte(uint8_t(rng()));
      write_npy(p, a);
      const NpyArray r = read_npy(p);
      EXPECT_EQ(r.dtype, descr);
      EXPECT_EQ(r.shape, shape);
      EXPECT_EQ(r.data, a.data) << descr;
    }
  }
}

TEST(Npy, ConvertsKindsToFloatAndInt) {
  NpyArray h{"<f2", {4}, to_bytes(std::vector<uint16_t>{0x3c00, 0x0001, 0xfc00, 0x3555})};
  const auto hv = h.as_f32();
  EXPECT_EQ(hv[0], 1.0f);
  EXPECT_EQ(hv[1], 5.9604644775390625e-8f);  // 2^-24
  EXPECT_EQ(hv[2], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(hv[3], 0.333251953125f);

  NpyArray d{"<f8", {2}, to_bytes(std::vector<double>{0.25, -1e300})};
  EXPECT_EQ(d.as_f32(), (std::vector<float>{0.25f, -std::numeric_limits<float>::infinity()}));

  NpyArray i1{"|i1", {3}, to_bytes(std::vector<int8_t>{-128, 0, 127})};
  EXPECT_EQ(i1.as_i64(), (std::vector<int64_t>{-128, 0, 127}));
  EXPECT_EQ(i1.as_f32(), (std::vector<float>{-128.f, 0.f, 127.f}));
  NpyArray u2{"<u2", {2}, to_bytes(std::vector<uint16_t>{65535, 1})};
  EXPECT_EQ(u2.as_i64(), (std::vector<int64_t>{65535, 1}));
  NpyArray i4{"<i4", {2}, to_bytes(std::vector<int32_t>{-2147483647 - 1, 5})};
  EXPECT_EQ(i4.as_i64(), (std::vector<int64_t>{-2147483647 - 1, 5}));
  NpyArray u4{"<u4", {1}, to_bytes(std::vector<uint32_t>{4294967295u})};
  EXPECT_EQ(u4.as_i64(), (std::vector<int64_t>{4294967295}));
  NpyArray u8{"<u8", {2}, to_bytes(std::vector<uint64_t>{3, uint64_t(1) << 63})};
  EXPECT_TRUE(throws_error_with([&] { u8.as_i64(); }, {"element 1", "9223372036854775808", "int64"}));
  EXPECT_EQ(u8.as_f32()[1], 9223372036854775808.f);

  NpyArray b{"|b1", {2}, {std::byte{0}, std::byte{1}}};
  EXPECT_TRUE(throws_error_with([&] { b.as_f32(); }, {"|b1", "float32"}));
  EXPECT_TRUE(throws_error_with([&] { b.as_i64(); }, {"|b1", "int64"}));
  NpyArray wrong{"<f4", {3}, std::vector<std::byte>(8)};
  EXPECT_TRUE(throws_error_with([&] { wrong.as_f32(); }, {"12 bytes", "got 8"}));
  NpyArray odd{"<c8", {1}, std::vector<std::byte>(8)};
  EXPECT_TRUE(throws_error_with([&] { odd.as_f32(); }, {"<c8"}));
}

TEST(Npy, ReadsVersionsTwoAndThreeAndNumpyVariants) {
  TempDir dir;
  const auto p = dir / "v.npy";
  const std::vector<float> vals = {1.f, 2.f};
  std::string data(8, '\0');
  std::memcpy(data.data(), vals.data(), 8);
  for (int major : {2, 3}) {
    write_bytes(p, npy_bytes(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }     \n", 0) + data);
    EXPECT_EQ(read_npy(p).as_f32(), vals) << major;
  }
  // Key order, double quotes, no trailing comma and Python 2 long literals are all things numpy has written.
  write_bytes(p, npy_bytes(1, "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}\n", 0) + data);
  EXPECT_EQ(read_npy(p).as_f32(), vals);
  write_bytes(p, npy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5), }\n", 0));
  EXPECT_EQ(read_npy(p).numel(), 0);
  write_bytes(p, npy_bytes(1, "{'descr': '<u1', 'fortran_order': False, 'shape': (), }\n", 1));
  EXPECT_EQ(read_npy(p).dtype, "|u1");
}

struct BadNpy {
  const char* label;
  std::string bytes;
  std::vector<std::string> parts;  // besides the file name
};

class NpyBadFile : public ::testing::TestWithParam<BadNpy> {};

TEST_P(NpyBadFile, IsOneErrorNamingTheFile) {
  TempDir dir;
  const auto p = dir / "dump.npy";
  write_bytes(p, GetParam().bytes);
  std::vector<std::string> parts = GetParam().parts;
  parts.push_back("dump.npy");
  try {
    read_npy(p);
    FAIL() << "no error";
  } catch (const ezivk::Error& e) {
    const std::string what = e.what();
    for (const auto& part : parts)
      EXPECT_NE(what.find(part), std::string::npos) << "want \"" << part << "\" in: " << what;
  }
}

std::string hdr(const std::string& dict) { return npy_bytes(1, dict + "\n", 0); }
const std::string kF4x2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

INSTANTIATE_TEST_SUITE_P(
    All, NpyBadFile,
    ::testing::Values(
        BadNpy{"empty", "", {"too short"}},
        BadNpy{"bad_magic", std::string("\x93NUMPZ\x01\x00\x02\x00{}", 12), {"magic"}},
        BadNpy{"version_4", npy_bytes(4, kF4x2 + "\n", 8), {"version 4.0"}},
        BadNpy{"version_1_1", std::string("\x93NUMPY\x01\x01\x00\x00", 10), {"version 1.1"}},
        BadNpy{"truncated_length", std::string("\x93NUMPY\x02\x00\x05\x00", 10), {"header length"}},
        BadNpy{"header_past_end", std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), {"header length 255"}},
        BadNpy{"huge_header_v2", std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14), {"header length"}},
        BadNpy{"fortran",
               hdr("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }") + std::string(8, '\0'),
               {"Fortran order"}},
        BadNpy{"big_endian",
               hdr("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") + std::string(8, '\0'),
               {"'>f4'", "big-endian"}},
        BadNpy{"native_order",
               hdr("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }") + std::string(8, '\0'),
               {"'=f4'", "little-endian"}},
        BadNpy{"complex",
               hdr("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }") + std::string(8, '\0'),
               {"'<c8'", "not a supported dtype"}},
        BadNpy{"structured",
               hdr("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }") + std::string(4, '\0'),
               {"malformed header", "'descr'"}},
        BadNpy{"missing_shape", hdr("{'descr': '<f4', 'fortran_order': False, }"), {"no 'shape'"}},
        BadNpy{
            "missing_descr", hdr("{'fortran_order': False, 'shape': (2,), }") + std::string(8, '\0'), {"no 'descr'"}},
        BadNpy{"extra_key",
               hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 'y', }") + std::string(8, '\0'),
               {"unexpected key 'x'"}},
        BadNpy{"duplicate_key",
               hdr("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }") + std::string(8, '\0'),
               {"'descr' appears twice"}},
        BadNpy{"negative_dim",
               hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"),
               {"non-negative integer in 'shape'"}},
        BadNpy{"not_a_tuple",
               hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }") + std::string(8, '\0'),
               {"only element of 'shape'"}},
        BadNpy{"shape_list",
               hdr("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }") + std::string(8, '\0'),
               {"malformed header"}},
        BadNpy{"shape_overflow",
               hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
               {"overflows"}},
        BadNpy{"dim_overflow",
               hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
               {"too large"}},
        BadNpy{"fortran_not_bool",
               hdr("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }") + std::string(8, '\0'),
               {"malformed header"}},
        BadNpy{"not_a_dict", hdr("[1, 2]"), {"malformed header", "'{'"}},
        BadNpy{"unterminated", hdr("{'descr': '<f4"), {"closing quote"}},
        BadNpy{"garbage_after", hdr(kF4x2 + " x") + std::string(8, '\0'), {"end of the header"}},
        BadNpy{"data_short", hdr(kF4x2) + std::string(7, '\0'), {"needs 8 bytes", "has 7"}},
        BadNpy{"data_long", hdr(kF4x2) + std::string(9, '\0'), {"needs 8 bytes", "has 9"}}),
    [](const ::testing::TestParamInfo<BadNpy>& i) { return std::string(i.param.label); });

TEST(Npy, WriteValidatesAndReportsThePath) {
  TempDir dir;
  const auto p = dir / "out.npy";
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_npy(p, NpyArray{"<f4", {3}, std::vector<std::byte>(8)});
      },
      {"out.npy", "needs 12 bytes", "got 8"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_npy(p, NpyArray{"<c8", {1}, std::vector<std::byte>(8)});
      },
      {"out.npy", "'<c8'"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_npy(p, NpyArray{">f4", {1}, std::vector<std::byte>(4)});
      },
      {"out.npy", "big-endian"}));
  EXPECT_TRUE(throws_error_with([&] { write_npy(p, NpyArray{"<f4", {-1}, {}}); }, {"out.npy", "negative"}));
  EXPECT_FALSE(std::filesystem::exists(p));
  const float x = 1.f;
  EXPECT_TRUE(throws_error_with([&] { write_npy_f32(dir / "nodir" / "y.npy", {1}, &x); }, {"y.npy", "cannot open"}));
  EXPECT_TRUE(throws_error_with([&] { read_npy(dir / "absent.npy"); }, {"absent.npy", "does not exist"}));
}

}  // namespace
}  // namespace ezivk::io
