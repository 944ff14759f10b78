// Subject, mask and source images: PNG (libpng, with our size and chunk checks) and JPEG (stb), and PNG text chunks.
#include "engine/io/image_file.h"
#include "engine/io/png.h"
#include "tools/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = ezivk::fuzz::write_input("in.img", data, size);
  ezivk::fuzz::expect_clean([&] { (void)ezivk::io::read_image(p); });
  ezivk::fuzz::expect_clean([&] { (void)ezivk::io::read_png_text(p); });
  return 0;
}
