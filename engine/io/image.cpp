#include "engine/io/image.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/util/error.h"

namespace ezivk::io {

Image8 to_rgb(const Image8& image) {
  if (image.channels == 3) return image;
  if (image.channels != 4 || image.pixels.size() != size_t(image.width) * size_t(image.height) * 4)
    fail("to_rgb: expected an RGB or RGBA image, got " + std::to_string(image.channels) + " channels");
  Image8 rgb{image.width, image.height, 3, {}};
  rgb.pixels.reserve(size_t(image.width) * size_t(image.height) * 3);
  for (size_t i = 0; i < size_t(image.width) * size_t(image.height); ++i)
    rgb.pixels.insert(rgb.pixels.end(), image.pixels.begin() + ptrdiff_t(i * 4), image.pixels.begin() + ptrdiff_t(i * 4 + 3));
  return rgb;
}

Image8 latent_image_to_rgb8(const float* chw, int c, int h, int w) {
  if (c != 3 && c != 4) fail("latent_image_to_rgb8: expected 3 or 4 channels, got " + std::to_string(c));
  if (h <= 0 || w <= 0) {
    fail("latent_image_to_rgb8: expected a positive size, got " + std::to_string(h) + "x" + std::to_string(w));
  }
  Image8 img{w, h, c, std::vector<uint8_t>(size_t(c) * size_t(h) * size_t(w))};
  const size_t plane = size_t(h) * size_t(w);
  for (int ch = 0; ch < c; ++ch) {
    for (size_t p = 0; p < plane; ++p) {
      const float x = chw[size_t(ch) * plane + p];
      if (std::isnan(x)) {
        fail("latent_image_to_rgb8: channel " + std::to_string(ch) + " row " + std::to_string(p / size_t(w)) +
             " column " + std::to_string(p % size_t(w)) + " is NaN; the decoder output must be a number");
      }
      const float v = std::clamp(x / 2.0f + 0.5f, 0.0f, 1.0f);
      // nearbyint in the default rounding mode rounds half to even, as numpy's round does.
      img.pixels[p * size_t(c) + size_t(ch)] = static_cast<uint8_t>(std::nearbyint(v * 255.0f));
    }
  }
  return img;
}

}  // namespace ezivk::io
