#include "engine/io/image_file.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "engine/io/png.h"
#include "engine/util/error.h"
#include "engine/io/file_check.h"

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

namespace ezivk::io {

namespace {

constexpr uint64_t kMaxJpegBytes = 256ull << 20;
constexpr JDIMENSION kMaxJpegSide = 8192;

// libjpeg reports errors through a callback that must not return: it jumps back to read_jpeg, which turns the
// library's message into one Error naming the file. Nothing with a destructor lives between setjmp and longjmp.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  std::string why;  // our own reason, when we stop the decode ourselves
};

void on_jpeg_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void on_jpeg_warning(j_common_ptr, int) {}  // corrupt-data warnings: libjpeg recovers; the output shows it

// libjpeg-turbo (the decoder PIL uses, so subject images decode as the reference decodes them): RGB out, grey
// and YCbCr converted by the library, CMYK refused.
Image8 read_jpeg(const std::filesystem::path& path) {
  const std::string p = path.string();
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(p + ": cannot be read");
  const auto size = uint64_t(f.tellg());
  if (size > kMaxJpegBytes) fail(p + ": a JPEG of " + std::to_string(size) + " bytes is too large");
  std::vector<unsigned char> data(size);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(data.data()), std::streamsize(size));
  if (!f) fail(p + ": read error");

  Image8 img;
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_jpeg_error;
  err.mgr.emit_message = on_jpeg_warning;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fail(p + ": not a readable JPEG (" + (err.why.empty() ? std::string(err.message) : err.why) + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data.data(), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.image_width < 1 || cinfo.image_height < 1 || cinfo.image_width > kMaxJpegSide ||
      cinfo.image_height > kMaxJpegSide) {
    err.why = "size " + std::to_string(cinfo.image_width) + "x" + std::to_string(cinfo.image_height) +
          " is outside 1..8192";
    std::longjmp(err.jump, 1);
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    err.why = "CMYK JPEGs are not supported; save it as RGB";
    std::longjmp(err.jump, 1);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  img.width = int(cinfo.output_width);
  img.height = int(cinfo.output_height);
  img.channels = 3;
  img.pixels.resize(size_t(img.width) * size_t(img.height) * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = img.pixels.data() + size_t(cinfo.output_scanline) * size_t(img.width) * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return img;
}

}  // namespace

Image8 read_image(const std::filesystem::path& path) {
  unsigned char sig[8] = {};
  expect_file(path, "a PNG or JPEG image");
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
