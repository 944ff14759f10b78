// PNG reading and writing (engine/io/png) and decoder-output conversion (engine/io/image). Reference data
// comes from tools/fixtures/make_png_fixtures.py (an encoder written with zlib + struct, and diffusers'
// float-to-byte mapping run in torch/numpy); the written files' chunks are checked by a chunk walker here.
#include "engine/io/png.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/util/error.h"
#include "engine/io/image.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;
using io::Image8;
using io::PngText;

fs::path fixture_dir() { return fs::path(__FILE__).parent_path().parent_path() / "fixtures" / "png"; }

std::vector<uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot open " << p;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << p;
}

// A fresh directory per test, removed afterwards.
class PngTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("ezivk_png_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// --- An independent reader of the chunk layout: signature, lengths, CRC-32, IHDR and text chunks. ---

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

struct Chunk {
  std::string type;
  size_t offset;  // of the length field
  std::vector<uint8_t> data;
};

std::vector<Chunk> walk_chunks(const std::vector<uint8_t>& f) {
  static const uint8_t kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<Chunk> out;
  EXPECT_GE(f.size(), 8u);
  if (f.size() < 8 || std::memcmp(f.data(), kSig, 8) != 0) {
    ADD_FAILURE() << "bad PNG signature";
    return out;
  }
  size_t pos = 8;
  while (pos + 12 <= f.size()) {
    const uint32_t len = be32(&f[pos]);
    if (pos + 12 + len > f.size()) {
      ADD_FAILURE() << "chunk at " << pos << " overruns the file";
      return out;
    }
    Chunk c{std::string(reinterpret_cast<const char*>(&f[pos + 4]), 4), pos,
            std::vector<uint8_t>(f.begin() + long(pos + 8), f.begin() + long(pos + 8 + len))};
    EXPECT_EQ(be32(&f[pos + 8 + len]), crc32(&f[pos + 4], len + 4)) << "CRC of " << c.type << " at " << pos;
    pos += 12 + len;
    out.push_back(std::move(c));
    if (out.back().type == "IEND") break;
  }
  EXPECT_EQ(pos, f.size()) << "bytes after IEND or a partial chunk";
  EXPECT_TRUE(!out.empty() && out.back().type == "IEND");
  return out;
}

// Rewrites the CRC of the chunk that starts at `offset` after its bytes were edited.
void fix_crc(std::vector<uint8_t>& f, size_t offset) {
  const uint32_t len = be32(&f[offset]);
  const uint32_t c = crc32(&f[offset + 4], len + 4);
  for (int k = 0; k < 4; ++k) f[offset + 8 + len + size_t(k)] = uint8_t(c >> (24 - 8 * k));
}

size_t chunk_offset(const std::vector<uint8_t>& f, const std::string& type) {
  for (const auto& c : walk_chunks(f)) {
    if (c.type == type) return c.offset;
  }
  ADD_FAILURE() << "no " << type << " chunk";
  return 8;
}

// The bytes of a string literal, embedded NULs included, without the terminating one.
template <size_t N>
std::vector<uint8_t> lit(const char (&s)[N]) {
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(s), reinterpret_cast<const uint8_t*>(s) + N - 1);
}

Image8 random_image(int w, int h, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  Image8 img{w, h, c, std::vector<uint8_t>(size_t(w) * size_t(h) * size_t(c))};
  for (auto& v : img.pixels) v = uint8_t(rng() & 0xffu);
  return img;
}

// Expects `fn` to throw an ezivk::Error whose message names `path` (and `also`, when given).
template <typename Fn>
void expect_error_naming(Fn&& fn, const fs::path& path, const std::string& also = "") {
  try {
    fn();
    ADD_FAILURE() << "expected an Error for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    if (!also.empty()) {
      EXPECT_NE(msg.find(also), std::string::npos) << msg;
    }
  }
}

// --- Round trips ---

TEST_F(PngTest, RoundTripsOddSizesWithUnicodeText) {
  const PngText text = {{"prompt", "a photo of 猫 on a sofa 🐱"},
                        {"negative_prompt", ""},
                        {"Comment", "café, 25 °C"},
                        {"parameters", "Steps: 20, Sampler: Euler a, Seed: 42\nline two"},
                        {"Clé", "clé"}};
  uint32_t seed = 1;
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{7, 5}, std::pair{33, 17}}) {
    for (int c : {3, 4}) {
      SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c));
      const Image8 img = random_image(w, h, c, seed++);
      const fs::path path = dir_ / ("img_" + std::to_string(w) + "_" + std::to_string(c) + ".png");
      io::write_png(path, img, text);
      EXPECT_FALSE(fs::exists(fs::path(path.string() + ".tmp" + std::to_string(::getpid()))));

      const Image8 back = io::read_png(path);
      EXPECT_EQ(back.width, w);
      EXPECT_EQ(back.height, h);
      EXPECT_EQ(back.channels, c);
      EXPECT_EQ(back.pixels, img.pixels);
      EXPECT_EQ(io::read_png_text(path), text);

      // The bytes themselves: IHDR, then the text chunks before the image data, Latin-1 values as tEXt,
      // the others as uncompressed iTXt without language tag.
      const auto chunks = walk_chunks(slurp(path));
      ASSERT_GE(chunks.size(), 3u);
      ASSERT_EQ(chunks[0].type, "IHDR");
      const auto& ih = chunks[0].data;
      ASSERT_EQ(ih.size(), 13u);
      EXPECT_EQ(be32(&ih[0]), uint32_t(w));
      EXPECT_EQ(be32(&ih[4]), uint32_t(h));
      EXPECT_EQ(ih[8], 8);                  // bit depth
      EXPECT_EQ(ih[9], c == 4 ? 6 : 2);     // RGBA / RGB
      EXPECT_EQ(ih[12], 0);                 // not interlaced
      std::vector<std::pair<std::string, std::vector<uint8_t>>> seen;
      bool after_idat = false;
      for (const auto& ch : chunks) {
        if (ch.type == "IDAT") after_idat = true;
        if (ch.type != "tEXt" && ch.type != "iTXt" && ch.type != "zTXt") continue;
        EXPECT_FALSE(after_idat) << ch.type << " after IDAT";
        seen.emplace_back(ch.type, ch.data);
      }
      auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
      auto itxt = [&](const std::string& key, const std::string& utf8) {
        return bytes(key + std::string("\0\0\0\0\0", 5) + utf8);  // key, NUL, flag 0, method 0, "" NUL, "" NUL
      };
      const std::vector<std::pair<std::string, std::vector<uint8_t>>> want = {
          {"iTXt", itxt("prompt", "a photo of 猫 on a sofa 🐱")},
          {"tEXt", lit("negative_prompt\0")},
          {"tEXt", lit("Comment\0caf\xe9, 25 \xb0" "C")},
          {"tEXt", lit("parameters\0Steps: 20, Sampler: Euler a, Seed: 42\nline two")},
          {"tEXt", lit("Cl\xe9\0cl\xe9")},
      };
      EXPECT_EQ(seen, want);
    }
  }
}

TEST_F(PngTest, WritesWithoutTextAndReplacesAnExistingFile) {
  const fs::path path = dir_ / "plain.png";
  io::write_png(path, random_image(3, 2, 3, 7));
  const Image8 img = random_image(2, 3, 4, 8);
  io::write_png(path, img);
  EXPECT_EQ(io::read_png(path).pixels, img.pixels);
  EXPECT_TRUE(io::read_png_text(path).empty());
  for (const auto& c : walk_chunks(slurp(path))) {
    EXPECT_TRUE(c.type == "IHDR" || c.type == "IDAT" || c.type == "IEND") << c.type;
  }
}

// --- Files from the independent encoder ---

TEST(PngFixtures, ReadsEveryColourTypeAsEightBitRgbOrRgba) {
  std::ifstream f(fixture_dir() / "expected.json");
  ASSERT_TRUE(f.good());
  const auto expected = nlohmann::json::parse(f);
  ASSERT_GE(expected.size(), 9u);
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    const Image8 img = io::read_png(fixture_dir() / name);
    EXPECT_EQ(img.width, want["width"].get<int>());
    EXPECT_EQ(img.height, want["height"].get<int>());
    EXPECT_EQ(img.channels, want["channels"].get<int>());
    EXPECT_EQ(img.pixels, want["pixels"].get<std::vector<uint8_t>>());
    PngText text;
    for (const auto& kv : want["text"]) text.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    EXPECT_EQ(io::read_png_text(fixture_dir() / name), text);
  }
}

TEST(PngFixtures, RejectsDimensionsBeyond8192) {
  for (const char* name : {"too_wide.png", "too_tall.png"}) {
    const fs::path path = fixture_dir() / name;
    expect_error_naming([&] { io::read_png(path); }, path, "8192");
    expect_error_naming([&] { io::read_png_text(path); }, path, "8192");
  }
}

// --- Malformed input ---

TEST_F(PngTest, RejectsMalformedFilesNamingThem) {
  const auto good = slurp(fixture_dir() / "text_chunks.png");
  ASSERT_NO_THROW(io::read_png(fixture_dir() / "text_chunks.png"));
  std::vector<std::pair<std::string, std::vector<uint8_t>>> bad;
  for (size_t n : {size_t(0), size_t(5), size_t(8), size_t(20), size_t(33), good.size() / 2, good.size() - 12,
                   good.size() - 1}) {
    bad.emplace_back("truncated_" + std::to_string(n), std::vector<uint8_t>(good.begin(), good.begin() + long(n)));
  }
  {
    auto f = good;
    f[0] = 0x88;
    bad.emplace_back("bad_signature", f);
  }
  for (const char* type : {"IHDR", "IDAT", "tEXt", "iTXt", "IEND"}) {
    auto f = good;
    const size_t at = chunk_offset(f, type);
    f[at + 8 + be32(&f[at]) + 3] ^= 0x01;  // last CRC byte
    bad.emplace_back(std::string("bad_crc_") + type, f);
  }
  {
    auto f = good;  // damaged compressed image data under a valid CRC
    const size_t at = chunk_offset(f, "IDAT");
    const uint32_t len = be32(&f[at]);
    for (uint32_t k = 2; k < len; k += 3) f[at + 8 + k] ^= 0x5a;
    fix_crc(f, at);
    bad.emplace_back("bad_zlib", f);
  }
  for (const auto& [w, h] : {std::pair{100000u, 100000u}, std::pair{0u, 1u}, std::pair{0x80000000u, 1u}}) {
    auto f = good;  // declared dimensions rewritten, CRC valid
    const size_t at = chunk_offset(f, "IHDR");
    for (int k = 0; k < 4; ++k) {
      f[at + 8 + size_t(k)] = uint8_t(w >> (24 - 8 * k));
      f[at + 12 + size_t(k)] = uint8_t(h >> (24 - 8 * k));
    }
    fix_crc(f, at);
    bad.emplace_back("dims_" + std::to_string(w) + "x" + std::to_string(h), f);
  }
  {
    auto f = good;  // bit depth 8 with colour type 7 does not exist
    const size_t at = chunk_offset(f, "IHDR");
    f[at + 8 + 9] = 7;
    fix_crc(f, at);
    bad.emplace_back("bad_colour_type", f);
  }
  for (const char* type : {"tEXt", "iTXt", "IDAT"}) {
    // A chunk declaring far more bytes than the file holds (the fuzzer's 344-byte PNG declared a 1 GiB zTXt, which
    // libpng allocated before reading): refused before libpng sees it, naming the chunk.
    auto f = good;
    const size_t at = chunk_offset(f, type);
    f[at] = 0x3f;
    bad.emplace_back(std::string("huge_") + type, f);
  }
  for (const auto& [name, bytes] : bad) {
    SCOPED_TRACE(name);
    const fs::path path = dir_ / (name + ".png");
    spit(path, bytes);
    expect_error_naming([&] { io::read_png(path); }, path);
    expect_error_naming([&] { io::read_png_text(path); }, path);
    if (name.rfind("huge_", 0) == 0) {
      try {
        io::read_png_text(path);
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("declares"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(name.substr(5)), std::string::npos) << e.what();
      }
    }
  }
  const fs::path missing = dir_ / "missing.png";
  expect_error_naming([&] { io::read_png(missing); }, missing);
}

TEST_F(PngTest, RejectsBadImagesAndTextWhenWriting) {
  const fs::path path = dir_ / "out.png";
  Image8 two_channels{2, 2, 2, std::vector<uint8_t>(8)};
  expect_error_naming([&] { io::write_png(path, two_channels); }, path, "channels");
  Image8 short_pixels{3, 3, 3, std::vector<uint8_t>(26)};
  expect_error_naming([&] { io::write_png(path, short_pixels); }, path, "27");
  Image8 empty{0, 3, 3, {}};
  expect_error_naming([&] { io::write_png(path, empty); }, path);
  const Image8 ok = random_image(2, 2, 3, 3);
  for (const std::string& key : {std::string(""), std::string(80, 'k'), std::string(" lead"), std::string("trail "),
                                 std::string("two  spaces"), std::string("ключ"), std::string("tab\tkey"),
                                 std::string("bad\xff")}) {
    expect_error_naming([&] { io::write_png(path, ok, {{key, "v"}}); }, path, "text key");
  }
  expect_error_naming([&] { io::write_png(path, ok, {{"k", std::string("a\0b", 3)}}); }, path, "NUL");
  expect_error_naming([&] { io::write_png(path, ok, {{"k", "bad \xc3"}}); }, path, "UTF-8");
  expect_error_naming([&] { io::write_png(path, ok, {{"k", "overlong \xc0\xaf"}}); }, path, "UTF-8");
  EXPECT_FALSE(fs::exists(path));
  const fs::path nowhere = dir_ / "no_such_dir" / "out.png";
  expect_error_naming([&] { io::write_png(nowhere, ok); }, nowhere);
  // A key of exactly 79 characters is the longest allowed.
  io::write_png(path, ok, {{std::string(79, 'k'), "v"}});
  EXPECT_EQ(io::read_png_text(path), (PngText{{std::string(79, 'k'), "v"}}));
}

// --- Decoder output to bytes ---

TEST(LatentImageToRgb8, MatchesDiffusersRounding) {
  std::ifstream f(fixture_dir() / "latent_to_rgb8.json");
  ASSERT_TRUE(f.good());
  const auto doc = nlohmann::json::parse(f);
  std::vector<float> x;
  for (const auto& hex : doc["input_bits"]) {
    const uint32_t u = uint32_t(std::stoul(hex.get<std::string>(), nullptr, 16));
    float v;
    std::memcpy(&v, &u, 4);
    x.push_back(v);
  }
  const auto want = doc["expected"].get<std::vector<int>>();
  ASSERT_EQ(x.size(), want.size());
  ASSERT_EQ(x.size() % 12, 0u);
  ASSERT_GE(doc["ties"].get<int>(), 10);  // the half-to-even cases are really there
  for (int c : {3, 4}) {
    // Values laid out as c planes of 1 x w pixels; the image interleaves them per pixel.
    const int w = int(x.size()) / c;
    const Image8 img = io::latent_image_to_rgb8(x.data(), c, 1, w);
    ASSERT_EQ(img.channels, c);
    ASSERT_EQ(img.width, w);
    ASSERT_EQ(img.height, 1);
    for (int ch = 0; ch < c; ++ch) {
      for (int p = 0; p < w; ++p) {
        const size_t i = size_t(ch) * size_t(w) + size_t(p);
        EXPECT_EQ(int(img.pixels[size_t(p) * size_t(c) + size_t(ch)]), want[i]) << "input " << x[i];
      }
    }
  }
}

TEST(LatentImageToRgb8, InterleavesPlanesRowMajor) {
  // [3, 2, 2]: channel c, row y, column x holds a value that maps to byte 10*c + 2*y + x... via -1 + 2*b/255.
  std::vector<float> chw(12);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) chw[size_t(c * 4 + y * 2 + x)] = -1.0f + 2.0f * float(10 * c + 2 * y + x) / 255.0f;
  const Image8 img = io::latent_image_to_rgb8(chw.data(), 3, 2, 2);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23}));
}

TEST(LatentImageToRgb8, RejectsNaNAndBadShapes) {
  std::vector<float> chw(12, 0.0f);
  chw[7] = std::nanf("");
  try {
    io::latent_image_to_rgb8(chw.data(), 3, 2, 2);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("channel 1 row 1 column 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::latent_image_to_rgb8(chw.data(), 2, 2, 3), Error);
  EXPECT_THROW(io::latent_image_to_rgb8(chw.data(), 3, 0, 4), Error);
}

}  // namespace
}  // namespace ezivk::test
