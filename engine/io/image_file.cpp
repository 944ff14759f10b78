#include "engine/io/image_file.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "engine/io/png.h"
#include "engine/util/error.h"

#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_MAX_DIMENSIONS 8192
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace ezivk::io {

namespace {

constexpr uint64_t kMaxJpegBytes = 256ull << 20;

Image8 read_jpeg(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(path.string() + ": cannot be read");
  const auto size = uint64_t(f.tellg());
  if (size > kMaxJpegBytes) fail(path.string() + ": a JPEG of " + std::to_string(size) + " bytes is too large");
  std::vector<unsigned char> data(size);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(data.data()), std::streamsize(size));
  if (!f) fail(path.string() + ": read error");
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load_from_memory(data.data(), int(size), &w, &h, &c, 3);
  if (!px) fail(path.string() + ": not a readable JPEG (" + std::string(stbi_failure_reason()) + ")");
  Image8 img{w, h, 3, std::vector<uint8_t>(px, px + size_t(w) * size_t(h) * 3)};
  stbi_image_free(px);
  return img;
}

}  // namespace

Image8 read_image(const std::filesystem::path& path) {
  unsigned char sig[8] = {};
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(path.string() + ": cannot be read (no such file, or no permission)");
    f.read(reinterpret_cast<char*>(sig), 8);
    if (f.gcount() < 3) fail(path.string() + ": not an image (expected a PNG or JPEG file)");
  }
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (std::memcmp(sig, png, 8) == 0) return read_png(path);
  if (sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff) return read_jpeg(path);
  fail(path.string() + ": not an image (expected a PNG or JPEG file)");
}

}  // namespace ezivk::io
