#include "viewer/gif_writer.h"

#include <gif_lib.h>

#include <cstring>
#include <memory>
#include <string>

#include "engine/util/error.h"

namespace ezivk::viewer {
namespace {

int append(GifFileType* gif, const GifByteType* data, int n) {
  auto* out = static_cast<std::vector<uint8_t>*>(gif->UserData);
  out->insert(out->end(), data, data + n);
  return n;
}

struct Closer {
  void operator()(GifFileType* g) const {
    int err = 0;
    EGifCloseFile(g, &err);
  }
};

[[noreturn]] void gif_fail(GifFileType* g, const std::string& what) {
  fail("GIF: " + what + " failed: " + std::string(GifErrorString(g ? g->Error : 0)));
}

}  // namespace

std::vector<uint8_t> encode_gif(const std::vector<io::Image8>& frames, int delay_cs, int scale) {
  if (frames.empty()) fail("GIF: no frames");
  if (scale < 1 || scale > 16) fail("GIF: the enlargement must be 1..16, got " + std::to_string(scale));
  const int w = frames[0].width, h = frames[0].height;
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i].width != w || frames[i].height != h || (frames[i].channels != 3 && frames[i].channels != 4))
      fail("GIF: frame " + std::to_string(i) + " is " + std::to_string(frames[i].width) + "x" +
           std::to_string(frames[i].height) + " with " + std::to_string(frames[i].channels) + " channels; every frame must be " +
           std::to_string(w) + "x" + std::to_string(h) + " RGB or RGBA");
  const int W = w * scale, H = h * scale;
  if (W > 65535 || H > 65535) fail("GIF: frames of " + std::to_string(W) + "x" + std::to_string(H) + " are too large");
  std::vector<uint8_t> out;
  int err = 0;
  std::unique_ptr<GifFileType, Closer> gif(EGifOpen(&out, append, &err));
  if (!gif) fail("GIF: opening the encoder failed: " + std::string(GifErrorString(err)));
  EGifSetGifVersion(gif.get(), true);
  if (EGifPutScreenDesc(gif.get(), W, H, 8, 0, nullptr) == GIF_ERROR) gif_fail(gif.get(), "the screen descriptor");
  // NETSCAPE2.0: loop forever.
  const unsigned char loop[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif.get(), APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif.get(), 11, "NETSCAPE2.0") == GIF_ERROR ||
      EGifPutExtensionBlock(gif.get(), 3, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif.get()) == GIF_ERROR)
    gif_fail(gif.get(), "the loop extension");
  const size_t n = size_t(w) * size_t(h);
  std::vector<GifByteType> r(n), g(n), b(n), index(n), line(static_cast<size_t>(W));
  for (const auto& f : frames) {
    for (size_t i = 0; i < n; ++i) {
      r[i] = f.pixels[i * size_t(f.channels)];
      g[i] = f.pixels[i * size_t(f.channels) + 1];
      b[i] = f.pixels[i * size_t(f.channels) + 2];
    }
    GifColorType colours[256];
    int count = 256;
    if (GifQuantizeBuffer(unsigned(w), unsigned(h), &count, r.data(), g.data(), b.data(), index.data(), colours) == GIF_ERROR)
      fail("GIF: quantising a frame to 256 colours failed");
    std::unique_ptr<ColorMapObject, void (*)(ColorMapObject*)> map(GifMakeMapObject(256, colours), GifFreeMapObject);
    if (!map) fail("GIF: out of memory for a colour table");
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;
    gcb.DelayTime = delay_cs;
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(gif.get(), GRAPHICS_EXT_FUNC_CODE, int(len), ext) == GIF_ERROR) gif_fail(gif.get(), "a frame delay");
    if (EGifPutImageDesc(gif.get(), 0, 0, W, H, false, map.get()) == GIF_ERROR) gif_fail(gif.get(), "a frame descriptor");
    for (int y = 0; y < H; ++y) {
      const GifByteType* src = index.data() + size_t(y / scale) * size_t(w);
      for (int x = 0; x < W; ++x) line[size_t(x)] = src[x / scale];
      if (EGifPutLine(gif.get(), line.data(), W) == GIF_ERROR) gif_fail(gif.get(), "a frame's pixels");
    }
  }
  GifFileType* raw = gif.release();
  if (EGifCloseFile(raw, &err) == GIF_ERROR) fail("GIF: finishing the file failed: " + std::string(GifErrorString(err)));
  return out;
}

}  // namespace ezivk::viewer
