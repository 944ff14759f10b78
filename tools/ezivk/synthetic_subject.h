#pragma once
// A deterministic subject picture for benchmarks that need one without reading a file: a disc of colour on white.
#include <vector>

#include "engine/io/image.h"

namespace ezivk::cli {

inline io::Image8 synthetic_subject(int size) {
  io::Image8 img{size, size, 3, std::vector<uint8_t>(size_t(size) * size * 3, 255)};
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dx = (x - size / 2.0) / size, dy = (y - size / 2.0) / size;
      if (dx * dx + dy * dy < 0.12) {
        uint8_t* p = &img.pixels[(size_t(y) * size + size_t(x)) * 3];
        p[0] = uint8_t(120 + 100 * dx);
        p[1] = uint8_t(80 + 60 * dy);
        p[2] = 40;
      }
    }
  return img;
}

}  // namespace ezivk::cli
