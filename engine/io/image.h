#pragma once
// 8-bit images on the host: what PNG files hold and what the viewer shows.
#include <cstdint>
#include <vector>

namespace ezivk::io {

// Row-major, channels interleaved (RGB or RGBA), no padding between rows.
struct Image8 {
  int width = 0;
  int height = 0;
  int channels = 3;  // 3 (RGB) or 4 (RGBA)
  std::vector<uint8_t> pixels;
};

// VAE decoder output ([c, h, w] floats, nominally in [-1, 1], c = 3 or 4) to bytes exactly as diffusers maps
// it: (x / 2 + 0.5) clamped to [0, 1] in float32, times 255, rounded half to even (numpy's round). A NaN is
// an Error naming its position rather than a silently black pixel.
// The RGB channels of an RGB or RGBA image (alpha dropped, as PIL's convert("RGB") does).
Image8 to_rgb(const Image8& image);

Image8 latent_image_to_rgb8(const float* chw, int c, int h, int w);

}  // namespace ezivk::io
