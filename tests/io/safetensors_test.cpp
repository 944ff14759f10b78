#include "engine/io/safetensors.h"

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

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

template <typename T>
std::vector<std::byte> to_bytes(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// IEEE binary16 decoded arithmetically (sign × mantissa × 2^exponent), independent of engine/util/half.h's
// bit manipulation.
float half_reference(uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 31) return mant ? std::numeric_limits<float>::quiet_NaN() : sign * std::numeric_limits<float>::infinity();
  if (exp == 0) return float(sign * std::ldexp(double(mant), -24));
  return float(sign * std::ldexp(double(1024 + mant), exp - 25));
}

// The float whose top 16 bits are the bf16 value: the definition of bfloat16.
float bf16_reference(uint16_t h) {
  const uint32_t x = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// Bit patterns covering every class: zeros, smallest/largest subnormals, normals, infinities, NaNs.
std::vector<uint16_t> special_and_random_halves(uint32_t seed, size_t random_count) {
  std::vector<uint16_t> v = {0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff,
                             0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00, 0x0200, 0x3555, 0x0080};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> d(0, 0xffff);
  for (size_t i = 0; i < random_count; ++i) v.push_back(uint16_t(d(rng)));
  return v;
}

void expect_same_float(float got, float want, size_t i) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << "element " << i << " got " << got;
  } else {
    EXPECT_EQ(bits_of(got), bits_of(want)) << "element " << i << " got " << got << " want " << want;
  }
}

// A file made of an 8-byte header length, the given header text and `data_bytes` zero bytes.
void write_raw(const std::filesystem::path& p, const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  write_bytes(p, s + header + std::string(data_bytes, '\0'));
}

TEST(Safetensors, KnownHalfBitPatternsDecodeToKnownValues) {
  // Spot values of the independent decoder itself, so the round-trip tests below compare with something true.
  EXPECT_EQ(half_reference(0x3c00), 1.0f);
  EXPECT_EQ(half_reference(0xc000), -2.0f);
  EXPECT_EQ(half_reference(0x7bff), 65504.0f);
  EXPECT_EQ(half_reference(0x0001), 5.9604644775390625e-8f);  // 2^-24
  EXPECT_EQ(half_reference(0x03ff), 6.0975551605224609375e-5f);
  EXPECT_EQ(half_reference(0x0400), 6.103515625e-5f);  // 2^-14
  EXPECT_EQ(half_reference(0x3555), 0.333251953125f);
  EXPECT_EQ(half_reference(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(half_reference(0x8000)));
  EXPECT_TRUE(std::isnan(half_reference(0x7e00)));
  EXPECT_EQ(bf16_reference(0x3f80), 1.0f);
  EXPECT_EQ(bf16_reference(0xc060), -3.5f);
}

TEST(Safetensors, ReadsFixtureWrittenByIndependentPythonWriter) {
  const auto path = io_test::fixture_dir() / "sample.safetensors";
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "a.f32");
  EXPECT_EQ(f.tensors()[1].name, "b.f16");
  EXPECT_EQ(f.tensors()[2].name, "c.bf16");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("source"), "make_io_fixtures.py");

  const StTensor* a = f.find("a.f32");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, StDType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.to_f32(*a), (std::vector<float>{0.5f, -1.25f, 3.0f, 100.0f, -0.0078125f, 65504.0f}));

  const StTensor* b = f.find("b.f16");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, StDType::F16);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{5}));
  const auto bv = f.to_f32(*b);
  const std::vector<float> bw = {1.0f, -0.5f, 65504.0f, 5.9604644775390625e-8f,
                                 -std::numeric_limits<float>::infinity()};
  ASSERT_EQ(bv.size(), bw.size());
  for (size_t i = 0; i < bw.size(); ++i) expect_same_float(bv[i], bw[i], i);

  const StTensor* c = f.find("c.bf16");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype, StDType::BF16);
  EXPECT_EQ(c->shape, (std::vector<int64_t>{3, 1}));
  const auto cv = f.to_f32(*c);
  const std::vector<float> cw = {1.0f, -3.5f, std::ldexp(1.0f, -130)};
  ASSERT_EQ(cv.size(), cw.size());
  for (size_t i = 0; i < cw.size(); ++i) expect_same_float(cv[i], cw[i], i);

  EXPECT_EQ(f.find("a.f3"), nullptr);
  EXPECT_EQ(f.find("zzz"), nullptr);
  EXPECT_EQ(f.find(""), nullptr);
}

TEST(Safetensors, RoundTripsEveryFloatDtype) {
  TempDir dir;
  const auto path = dir / "round.safetensors";
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1e4f, 1e4f);

  std::vector<float> f32(37);
  for (auto& x : f32) x = u(rng);
  f32[0] = std::numeric_limits<float>::denorm_min();
  f32[1] = -std::numeric_limits<float>::infinity();
  std::vector<double> f64(11);
  std::vector<float> f64_want(f64.size());
  for (size_t i = 0; i < f64.size(); ++i) f64_want[i] = u(rng), f64[i] = double(f64_want[i]);  // exact in float
  const auto f16 = special_and_random_halves(7, 300);
  const auto bf16 = special_and_random_halves(8, 300);

  const int64_t n16 = int64_t(f16.size());
  write_safetensors(path,
                    {{"w.f32", StDType::F32, {37}, to_bytes(f32)},
                     {"w.f64", StDType::F64, {11, 1}, to_bytes(f64)},
                     {"w.f16", StDType::F16, {n16}, to_bytes(f16)},
                     {"w.bf16", StDType::BF16, {1, n16}, to_bytes(bf16)}},
                    {{"k", "v"}});
  EXPECT_FALSE(std::filesystem::exists(dir / ("round.safetensors.tmp" + std::to_string(::getpid()))));

  SafetensorsFile f(path);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"k", "v"}}));
  ASSERT_EQ(f.tensors().size(), 4u);
  // Sorted by name, whatever the order written.
  EXPECT_EQ(f.tensors()[0].name, "w.bf16");
  EXPECT_EQ(f.tensors()[1].name, "w.f16");
  EXPECT_EQ(f.tensors()[2].name, "w.f32");
  EXPECT_EQ(f.tensors()[3].name, "w.f64");

  const auto g32 = f.to_f32(*f.find("w.f32"));
  ASSERT_EQ(g32.size(), f32.size());
  for (size_t i = 0; i < f32.size(); ++i) expect_same_float(g32[i], f32[i], i);

  const StTensor& t64 = *f.find("w.f64");
  EXPECT_EQ(t64.shape, (std::vector<int64_t>{11, 1}));
  const auto g64 = f.to_f32(t64);
  ASSERT_EQ(g64.size(), f64_want.size());
  for (size_t i = 0; i < f64_want.size(); ++i) expect_same_float(g64[i], f64_want[i], i);

  const auto g16 = f.to_f32(*f.find("w.f16"));
  ASSERT_EQ(g16.size(), f16.size());
  for (size_t i = 0; i < f16.size(); ++i) expect_same_float(g16[i], half_reference(f16[i]), i);

  const StTensor& tb = *f.find("w.bf16");
  EXPECT_EQ(tb.shape, (std::vector<int64_t>{1, n16}));
  const auto gb = f.to_f32(tb);
  ASSERT_EQ(gb.size(), bf16.size());
  for (size_t i = 0; i < bf16.size(); ++i) EXPECT_EQ(bits_of(gb[i]), uint32_t(bf16[i]) << 16) << "element " << i;

  // The raw bytes come back untouched too.
  const auto raw = f.bytes(tb);
  ASSERT_EQ(raw.size(), bf16.size() * 2);
  EXPECT_EQ(std::memcmp(raw.data(), bf16.data(), raw.size()), 0);
}

TEST(Safetensors, AcceptsEveryDtypeAndRejectsNonFloatConversion) {
  TempDir dir;
  const auto path = dir / "all.safetensors";
  const std::vector<std::pair<StDType, size_t>> all = {
      {StDType::BOOL, 1}, {StDType::U8, 1},   {StDType::I8, 1},  {StDType::I16, 2},     {StDType::U16, 2},
      {StDType::F16, 2},  {StDType::BF16, 2}, {StDType::I32, 4}, {StDType::U32, 4},     {StDType::F32, 4},
      {StDType::F64, 8},  {StDType::I64, 8},  {StDType::U64, 8}, {StDType::F8_E4M3, 1}, {StDType::F8_E5M2, 1}};
  const std::vector<std::string> names = {"BOOL", "U8",  "I8",  "I16", "U16", "F16",     "BF16",   "I32",
                                          "U32",  "F32", "F64", "I64", "U64", "F8_E4M3", "F8_E5M2"};
  std::vector<StWriteTensor> ws;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(st_dtype_bytes(all[i].first), all[i].second) << names[i];
    EXPECT_STREQ(st_dtype_name(all[i].first), names[i].c_str());
    std::vector<std::byte> data(3 * all[i].second);
    for (size_t k = 0; k < data.size(); ++k) data[k] = std::byte(uint8_t(i * 16 + k));
    ws.push_back({"t_" + names[i], all[i].first, {3}, data});
  }
  write_safetensors(path, ws);
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), all.size());
  for (const auto& w : ws) {
    const StTensor* t = f.find(w.name);
    ASSERT_NE(t, nullptr) << w.name;
    EXPECT_EQ(t->dtype, w.dtype);
    EXPECT_EQ(t->numel(), 3);
    const auto b = f.bytes(*t);
    ASSERT_EQ(b.size(), w.data.size());
    EXPECT_EQ(std::memcmp(b.data(), w.data.data(), b.size()), 0) << w.name;
  }
  EXPECT_TRUE(throws_error_with([&] { f.to_f32(*f.find("t_I32")); }, {"all.safetensors", "'t_I32'", "I32"}));
  EXPECT_TRUE(throws_error_with([&] { f.to_f32(*f.find("t_F8_E4M3")); }, {"all.safetensors", "t_F8_E4M3", "F8_E4M3"}));
  EXPECT_TRUE(throws_error_with([&] { f.to_f32(*f.find("t_BOOL")); }, {"all.safetensors", "t_BOOL", "BOOL"}));
}

TEST(Safetensors, WriterPadsHeaderWithSpacesToMultipleOfEight) {
  TempDir dir;
  for (size_t name_len = 1; name_len <= 9; ++name_len) {
    const auto path = dir / "pad.safetensors";
    write_safetensors(path, {{std::string(name_len, 'x'), StDType::U8, {1}, {std::byte{42}}}});
    const std::string s = read_bytes(path);
    ASSERT_GE(s.size(), 8u);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(s[size_t(i)]);
    EXPECT_EQ(n % 8, 0u) << name_len;
    ASSERT_EQ(s.size(), 8 + n + 1);
    const std::string header = s.substr(8, n);
    const size_t close = header.find_last_of('}');
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << header;
    EXPECT_LT(header.size() - close - 1, 8u);
    EXPECT_EQ(uint8_t(s.back()), 42);
  }
}

TEST(Safetensors, WriterValidatesItsInput) {
  TempDir dir;
  const auto path = dir / "bad_write.safetensors";
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_safetensors(path, {{"a.weight", StDType::F32, {2, 3}, std::vector<std::byte>(20)}});
      },
      {"bad_write.safetensors", "'a.weight'", "24"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_safetensors(path, {{"neg", StDType::F32, {-1}, {}}});
      },
      {"bad_write.safetensors", "'neg'"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_safetensors(path, {{"d", StDType::U8, {1}, {std::byte{1}}}, {"d", StDType::U8, {1}, {std::byte{1}}}});
      },
      {"bad_write.safetensors", "'d'", "more than once"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        write_safetensors(path, {{"__metadata__", StDType::U8, {0}, {}}});
      },
      {"bad_write.safetensors", "__metadata__"}));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(
      throws_error_with([&] { write_safetensors(dir / "no_such_dir" / "x.safetensors", {}); }, {"x.safetensors"}));
}

TEST(Safetensors, EmptyHeaderAndZeroSizedTensors) {
  TempDir dir;
  const auto p1 = dir / "empty.safetensors";
  write_raw(p1, "{}", 0);
  SafetensorsFile e(p1);
  EXPECT_TRUE(e.tensors().empty());
  EXPECT_TRUE(e.metadata().empty());

  const auto p2 = dir / "zeros.safetensors";
  write_safetensors(p2, {{"z", StDType::F32, {0, 4}, {}}, {"s", StDType::F32, {}, to_bytes(std::vector<float>{2.5f})}});
  SafetensorsFile z(p2);
  EXPECT_EQ(z.find("z")->numel(), 0);
  EXPECT_TRUE(z.to_f32(*z.find("z")).empty());
  EXPECT_EQ(z.find("s")->numel(), 1);  // a 0-d tensor holds one value
  EXPECT_EQ(z.to_f32(*z.find("s")), std::vector<float>{2.5f});
}

TEST(Safetensors, MovesKeepTheMapping) {
  TempDir dir;
  const auto p = dir / "m.safetensors";
  write_safetensors(p, {{"v", StDType::F32, {2}, to_bytes(std::vector<float>{1.f, 2.f})}});
  SafetensorsFile a(p);
  SafetensorsFile b(std::move(a));
  EXPECT_EQ(b.to_f32(*b.find("v")), (std::vector<float>{1.f, 2.f}));
  const auto p2 = dir / "m2.safetensors";
  write_safetensors(p2, {{"w", StDType::F32, {1}, to_bytes(std::vector<float>{3.f})}});
  SafetensorsFile c(p2);
  c = std::move(b);
  EXPECT_EQ(c.path(), p);
  EXPECT_EQ(c.to_f32(*c.find("v")), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(c.find("w"), nullptr);
}

TEST(Safetensors, BytesRejectsARangeOutsideThisFile) {
  TempDir dir;
  const auto p = dir / "small.safetensors";
  write_safetensors(p, {{"v", StDType::F32, {2}, to_bytes(std::vector<float>{1.f, 2.f})}});
  SafetensorsFile f(p);
  StTensor foreign = *f.find("v");
  foreign.name = "foreign";
  foreign.begin = 4;
  foreign.end = 12;
  EXPECT_TRUE(throws_error_with([&] { f.bytes(foreign); }, {"small.safetensors", "'foreign'"}));
}

TEST(Safetensors, RejectsFilesThatCannotHoldAHeader) {
  TempDir dir;
  EXPECT_TRUE(throws_error_with([&] { SafetensorsFile f(dir / "missing.safetensors"); },
                                {"missing.safetensors", "does not exist"}));
  EXPECT_TRUE(throws_error_with([&] { SafetensorsFile f(dir.path()); }, {"is a directory"}));

  const auto shortf = dir / "short.safetensors";
  write_bytes(shortf, std::string("\x02\0\0\0\0", 5));
  EXPECT_TRUE(throws_error_with([&] { SafetensorsFile f(shortf); }, {"short.safetensors", "5 bytes", "8-byte"}));

  const auto past = dir / "past.safetensors";
  std::string s(8, '\0');
  s[0] = 100;
  write_bytes(past, s + "{}");
  EXPECT_TRUE(
      throws_error_with([&] { SafetensorsFile f(past); }, {"past.safetensors", "header length 100", "2 bytes"}));

  const auto huge = dir / "huge.safetensors";
  std::string h(8, '\0');
  h[5] = 1;  // 2^40
  write_bytes(huge, h + "{}");
  EXPECT_TRUE(throws_error_with([&] { SafetensorsFile f(huge); }, {"huge.safetensors", "100 MB"}));

  // A shape nested 100,000 deep parses, but quoting it in the error would recurse per level: refused early.
  const auto deep = dir / "deep.safetensors";
  const std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":" + std::string(100000, '[') +
                             std::string(100000, ']') + ",\"data_offsets\":[0,0]}}";
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  write_bytes(deep, len + header);
  EXPECT_TRUE(throws_error_with([&] { SafetensorsFile f(deep); }, {"deep.safetensors", "deeper than 8 levels"}));
}

struct BadHeader {
  const char* label;
  std::string header;
  size_t data_bytes;
  std::vector<std::string> parts;  // besides the file name
};

class SafetensorsBadHeader : public ::testing::TestWithParam<BadHeader> {};

TEST_P(SafetensorsBadHeader, IsOneErrorNamingFileAndTensor) {
  TempDir dir;
  const auto path = dir / "model.safetensors";
  write_raw(path, GetParam().header, GetParam().data_bytes);
  try {
    SafetensorsFile f(path);
    FAIL() << "no error for " << GetParam().header;
  } catch (const ezivk::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.safetensors"), std::string::npos) << what;
    for (const auto& p : GetParam().parts)
      EXPECT_NE(what.find(p), std::string::npos) << "want \"" << p << "\" in: " << what;
  }
}

const std::string kOk = R"("ok":{"dtype":"U8","shape":[2],"data_offsets":[0,2]})";

INSTANTIATE_TEST_SUITE_P(
    All, SafetensorsBadHeader,
    ::testing::Values(
        BadHeader{"not_json", "{\"a\": ", 0, {"not valid JSON"}},
        BadHeader{"garbage_after", "{} x", 0, {"not valid JSON"}},
        BadHeader{"array_top", "[1, 2]", 0, {"must be a JSON object", "array"}},
        BadHeader{"entry_not_object", R"({"a.weight": 3})", 0, {"'a.weight'", "must be an object"}},
        BadHeader{"no_dtype", R"({"a.weight": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"'a.weight'", "no dtype"}},
        BadHeader{"dtype_not_string",
                  R"({"a.weight": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})",
                  4,
                  {"'a.weight'", "dtype 4"}},
        BadHeader{"unknown_dtype",
                  R"({"a.weight": {"dtype": "F17", "shape": [1], "data_offsets": [0, 4]}})",
                  4,
                  {"'a.weight'", "unknown dtype 'F17'"}},
        BadHeader{"lowercase_dtype",
                  R"({"a.weight": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}})",
                  4,
                  {"'a.weight'", "unknown dtype 'f32'"}},
        BadHeader{
            "no_shape", R"({"a.weight": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, {"'a.weight'", "no shape"}},
        BadHeader{"shape_not_list",
                  R"({"a.weight": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})",
                  16,
                  {"'a.weight'", "shape 4", "non-negative integers"}},
        BadHeader{"shape_negative",
                  R"({"a.weight": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}})",
                  8,
                  {"'a.weight'", "shape [-1,2]"}},
        BadHeader{"shape_float",
                  R"({"a.weight": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})",
                  4,
                  {"'a.weight'", "shape [1.5]"}},
        BadHeader{"shape_overflow",
                  R"({"a.weight": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
                  0,
                  {"'a.weight'", "overflows"}},
        BadHeader{"bytes_overflow",
                  R"({"a.weight": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 0]}})",
                  0,
                  {"'a.weight'", "overflows"}},
        BadHeader{
            "no_offsets", R"({"a.weight": {"dtype": "F32", "shape": [1]}})", 4, {"'a.weight'", "no data_offsets"}},
        BadHeader{"offsets_three",
                  R"({"a.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})",
                  8,
                  {"'a.weight'", "[begin, end]"}},
        BadHeader{"offsets_negative",
                  R"({"a.weight": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})",
                  8,
                  {"'a.weight'", "[begin, end]"}},
        BadHeader{"offsets_not_list",
                  R"({"a.weight": {"dtype": "F32", "shape": [1], "data_offsets": "0-4"}})",
                  8,
                  {"'a.weight'", "[begin, end]"}},
        BadHeader{"begin_after_end",
                  R"({"a.weight": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})",
                  8,
                  {"'a.weight'", "[8, 4]", "begin after end"}},
        BadHeader{"past_data",
                  R"({"a.weight": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  8,
                  {"'a.weight'", "[4, 12]", "8-byte data section"}},
        BadHeader{"size_mismatch",
                  R"({"a.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 10]}})",
                  24,
                  {"model.safetensors: tensor 'a.weight' has data_offsets [0, 10] but shape [2, 3] of F32 needs 24 "
                   "bytes"}},
        BadHeader{"overlap",
                  "{" + kOk + R"(, "b.weight": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}})",
                  3,
                  {"'b.weight'", "'ok'", "overlap"}},
        BadHeader{"overlap_same_range",
                  "{" + kOk + R"(, "b.weight": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})",
                  2,
                  {"'b.weight'", "'ok'", "overlap"}},
        BadHeader{"overlap_behind_empty",
                  R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
                      "e": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]},
                      "b": {"dtype": "U8", "shape": [4], "data_offsets": [6, 10]}})",
                  10,
                  {"'b'", "'a'", "overlap"}},
        BadHeader{"duplicate_name", "{" + kOk + "," + kOk + "}", 2, {"'ok'", "more than once"}},
        BadHeader{"metadata_not_object", "{" + kOk + R"(, "__metadata__": ["x"]})", 2, {"__metadata__"}},
        BadHeader{"metadata_value_not_string",
                  "{" + kOk + R"(, "__metadata__": {"epoch": 3}})",
                  2,
                  {"__metadata__", "'epoch'", "must be a string"}}),
    [](const ::testing::TestParamInfo<BadHeader>& i) { return std::string(i.param.label); });

TEST(Safetensors, AcceptsHeaderTrailingSpacesHolesAndMetadata) {
  TempDir dir;
  const auto path = dir / "ok.safetensors";
  // A gap between ranges is harmless (nothing reads it), as are unknown keys inside an entry.
  write_raw(path,
            R"({"__metadata__": {"a": "b"}, "x": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6], "extra": 1}})"
            "     ",
            6);
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].begin, 4u);
  EXPECT_EQ(f.tensors()[0].end, 6u);
  EXPECT_EQ(f.metadata().at("a"), "b");
}

}  // namespace
}  // namespace ezivk::io
