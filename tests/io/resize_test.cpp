// io::resize_bilinear against PIL's Image.resize(BILINEAR) (tools/fixtures/make_resize_fixtures.py): every byte,
// for shrinking and enlarging, integer and odd factors, one axis or both; and the subject images of the EZIGen
// goldens, resized by PIL to the model size.
#include "engine/io/resize.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

io::Image8 from_npy(const std::filesystem::path& p) {
  const auto a = io::read_npy(p);
  EXPECT_EQ(a.dtype, "|u1") << p;
  io::Image8 img;
  img.height = int(a.shape.at(0));
  img.width = int(a.shape.at(1));
  img.channels = int(a.shape.at(2));
  img.pixels.resize(a.data.size());
  std::memcpy(img.pixels.data(), a.data.data(), a.data.size());
  return img;
}

TEST(ResizeBilinear, MatchesPilByteForByte) {
  const auto dir = fixtures_dir() / "io";
  const io::Image8 src = from_npy(dir / "resize_src_rgb.npy");
  for (auto [w, h] : {std::pair{64, 64}, {16, 9}, {37, 50}, {100, 23}, {5, 5}, {1, 1}, {37, 23}, {13, 23}}) {
    const io::Image8 want = from_npy(dir / ("resize_rgb_" + std::to_string(w) + "x" + std::to_string(h) + ".npy"));
    const io::Image8 got = io::resize_bilinear(src, w, h);
    ASSERT_EQ(got.width, w);
    ASSERT_EQ(got.height, h);
    size_t differ = 0;
    for (size_t i = 0; i < want.pixels.size(); ++i) differ += got.pixels[i] != want.pixels[i];
    EXPECT_EQ(differ, 0u) << w << "x" << h;
  }
}

TEST(ResizeBicubic, MatchesPilByteForByte) {
  const auto dir = fixtures_dir() / "io";
  const io::Image8 src = from_npy(dir / "resize_src_rgb.npy");
  for (auto [w, h] : {std::pair{64, 64}, {16, 9}, {37, 50}, {100, 23}, {5, 5}, {1, 1}, {37, 23}, {13, 23}}) {
    const io::Image8 want = from_npy(dir / ("resize_bicubic_" + std::to_string(w) + "x" + std::to_string(h) + ".npy"));
    const io::Image8 got = io::resize_pil(src, w, h, io::PilFilter::Bicubic);
    size_t differ = 0;
    for (size_t i = 0; i < want.pixels.size(); ++i) differ += got.pixels[i] != want.pixels[i];
    EXPECT_EQ(differ, 0u) << w << "x" << h;
  }
}

TEST(ResizeBilinear, EzigenSubjectsMatchPil) {
  for (const char* name : {"subject_dog.png", "subject_cat.png"}) {
    const io::Image8 src = io::read_png(fixtures_dir() / "ezigen" / name);
    // Written by make_ezigen_fixtures.py: [S, size, size, 3] of the reference case that uses both subjects.
    const auto all = io::read_npy(golden_dir("sd2-tiny") / "ezigen_reference_subject_u8.npy");
    const int size = int(all.shape.at(1));
    const io::Image8 got = io::resize_bilinear(src, size, size);
    const size_t one = size_t(size) * size * 3, index = std::string(name) == "subject_dog.png" ? 0 : 1;
    ASSERT_EQ(all.data.size(), 2 * one);
    EXPECT_EQ(0, std::memcmp(got.pixels.data(), all.data.data() + index * one, one)) << name;
  }
}

TEST(ResizeBilinear, RejectsBadSizes) {
  io::Image8 src{2, 2, 3, std::vector<uint8_t>(12, 9)};
  EXPECT_THROW(io::resize_bilinear(src, 0, 5), Error);
  EXPECT_THROW(io::resize_bilinear(src, 5, 9000), Error);
  src.pixels.pop_back();
  EXPECT_THROW(io::resize_bilinear(src, 4, 4), Error);
}

}  // namespace
}  // namespace ezivk::test
