// viewer::encode_gif read back with giflib's decoder: frame count, enlarged size, delays, the loop extension, and
// every pixel close to its frame (giflib quantises to 5 bits per channel before its median cut); bad frames named.
#include "viewer/gif_writer.h"

#include <gif_lib.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/util/error.h"

namespace ezivk::test {
namespace {

using viewer::encode_gif;

struct Reader {
  const std::vector<uint8_t>* data;
  size_t pos = 0;
};

int read_fn(GifFileType* g, GifByteType* buf, int n) {
  auto* r = static_cast<Reader*>(g->UserData);
  const int k = int(std::min<size_t>(size_t(n), r->data->size() - r->pos));
  std::memcpy(buf, r->data->data() + r->pos, size_t(k));
  r->pos += size_t(k);
  return k;
}

TEST(GifWriter, FramesReadBackCloseToTheirPictures) {
  std::mt19937 rng(5);
  const int w = 13, h = 7, scale = 3;  // odd sizes
  std::vector<io::Image8> frames;
  for (int f = 0; f < 4; ++f) {
    // 40 colours per frame, a different palette each: every frame needs its own table.
    std::vector<std::array<uint8_t, 3>> palette(40);
    for (auto& c : palette)
      for (auto& v : c) v = uint8_t(rng() & 0xff);
    io::Image8 im{w, h, f == 2 ? 4 : 3, {}};
    for (int i = 0; i < w * h; ++i) {
      const auto& c = palette[rng() % palette.size()];
      im.pixels.insert(im.pixels.end(), c.begin(), c.end());
      if (im.channels == 4) im.pixels.push_back(255);
    }
    frames.push_back(im);
  }
  const auto bytes = encode_gif(frames, 40, scale);
  Reader rd{&bytes};
  int err = 0;
  GifFileType* g = DGifOpen(&rd, read_fn, &err);
  ASSERT_NE(g, nullptr) << GifErrorString(err);
  ASSERT_EQ(DGifSlurp(g), GIF_OK) << GifErrorString(g->Error);
  EXPECT_EQ(g->SWidth, w * scale);
  EXPECT_EQ(g->SHeight, h * scale);
  ASSERT_EQ(g->ImageCount, 4);
  bool looping = false;
  for (int i = 0; i < g->ExtensionBlockCount; ++i)
    looping |= g->ExtensionBlocks[i].ByteCount == 11 && std::memcmp(g->ExtensionBlocks[i].Bytes, "NETSCAPE2.0", 11) == 0;
  for (int i = 0; i < g->SavedImages[0].ExtensionBlockCount; ++i)
    looping |= g->SavedImages[0].ExtensionBlocks[i].ByteCount == 11 &&
               std::memcmp(g->SavedImages[0].ExtensionBlocks[i].Bytes, "NETSCAPE2.0", 11) == 0;
  EXPECT_TRUE(looping);
  for (int f = 0; f < 4; ++f) {
    const SavedImage& s = g->SavedImages[f];
    GraphicsControlBlock gcb;
    ASSERT_EQ(DGifSavedExtensionToGCB(g, f, &gcb), GIF_OK);
    EXPECT_EQ(gcb.DelayTime, 40);
    const ColorMapObject* map = s.ImageDesc.ColorMap ? s.ImageDesc.ColorMap : g->SColorMap;
    ASSERT_NE(map, nullptr);
    int worst = 0;
    for (int y = 0; y < h * scale; ++y)
      for (int x = 0; x < w * scale; ++x) {
        const GifColorType c = map->Colors[s.RasterBits[size_t(y) * size_t(w * scale) + size_t(x)]];
        const auto& im = frames[size_t(f)];
        const uint8_t* p = &im.pixels[(size_t(y / scale) * size_t(w) + size_t(x / scale)) * size_t(im.channels)];
        worst = std::max({worst, std::abs(c.Red - p[0]), std::abs(c.Green - p[1]), std::abs(c.Blue - p[2])});
      }
    EXPECT_LE(worst, 12) << "frame " << f;  // 5-bit binning (up to 7 levels) and a bin's mean
  }
  DGifCloseFile(g, &err);
}

TEST(GifWriter, FramesThatDoNotMatchAreNamed) {
  io::Image8 a{4, 4, 3, std::vector<uint8_t>(48, 100)}, b{5, 4, 3, std::vector<uint8_t>(60, 100)};
  try {
    encode_gif({a, a, b}, 10, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frame 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(encode_gif({}, 10, 1), Error);
  EXPECT_THROW(encode_gif({a}, 10, 0), Error);
}

}  // namespace
}  // namespace ezivk::test
