#include "engine/eval/picture_difference.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "engine/util/error.h"

namespace ezivk::eval {
namespace {

void check_same(const io::Image8& a, const io::Image8& b) {
  if (a.width != b.width || a.height != b.height)
    fail("cannot compare a " + std::to_string(a.width) + "x" + std::to_string(a.height) + " picture with a " +
         std::to_string(b.width) + "x" + std::to_string(b.height) + " one");
}

}  // namespace

io::Image8 difference_image(const io::Image8& a, const io::Image8& b, int gain) {
  check_same(a, b);
  io::Image8 d{a.width, a.height, 3, std::vector<uint8_t>(size_t(a.width) * size_t(a.height) * 3)};
  for (size_t i = 0; i < size_t(a.width) * size_t(a.height); ++i)
    for (size_t c = 0; c < 3; ++c) {
      const int v = std::abs(int(a.pixels[i * size_t(a.channels) + c]) - int(b.pixels[i * size_t(b.channels) + c]));
      d.pixels[i * 3 + c] = uint8_t(std::min(255, v * gain));
    }
  return d;
}

double mean_abs_difference(const io::Image8& a, const io::Image8& b) {
  check_same(a, b);
  double sum = 0;
  const size_t n = size_t(a.width) * size_t(a.height);
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < 3; ++c)
      sum += std::abs(int(a.pixels[i * size_t(a.channels) + c]) - int(b.pixels[i * size_t(b.channels) + c]));
  return n ? sum / double(n * 3) : 0.0;
}

}  // namespace ezivk::eval
