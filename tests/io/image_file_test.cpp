// io::read_image: PNG and JPEG chosen by signature; a JPEG decodes exactly as PIL decodes it (both use libjpeg-turbo
// with its default inverse DCT and chroma upsampling; tools/fixtures/make_jpeg_fixtures.py);
// anything else, a truncated JPEG included, is one Error naming the file.
#include "engine/io/image_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "tests/io/io_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

TEST(ReadImage, JpegDecodesExactlyAsPil) {
  for (const char* v : {"444", "420"}) {
    const auto dir = fixtures_dir() / "io";
    const io::Image8 img = io::read_image(dir / (std::string("photo_") + v + ".jpg"));
    const auto want = io::read_npy(dir / (std::string("photo_") + v + "_pil.npy"));
    ASSERT_EQ(img.height, want.shape[0]);
    ASSERT_EQ(img.width, want.shape[1]);
    ASSERT_EQ(img.channels, 3);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i) {
      const int d = std::abs(int(img.pixels[i]) - int(uint8_t(want.data[i])));
      worst = std::max(worst, d);
      sum += d;
    }
    EXPECT_EQ(worst, 0) << v << ", mean difference " << sum / double(img.pixels.size());
  }
}

TEST(ReadImage, PngByItsSignatureAndBadFilesFailNamingThem) {
  io_test::TempDir tmp;
  const auto png = tmp.path() / "named.jpg";  // a PNG with the wrong extension is still read as a PNG
  io::write_png(png, io::Image8{3, 2, 3, std::vector<uint8_t>(18, 7)});
  EXPECT_EQ(io::read_image(png).pixels, std::vector<uint8_t>(18, 7));
  const auto text = tmp.path() / "notes.png";
  std::ofstream(text) << "hello, not an image";
  EXPECT_TRUE(io_test::throws_error_with([&] { io::read_image(text); }, {"notes.png", "not an image"}));
  // A JPEG cut short.
  std::ifstream in(fixtures_dir() / "io" / "photo_420.jpg", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto cut = tmp.path() / "cut.jpg";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 3));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::read_image(cut); }, {"cut.jpg"}));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::read_image(tmp.path() / "missing.png"); }, {"missing.png"}));
}

}  // namespace
}  // namespace ezivk::test
