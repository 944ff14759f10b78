#include "engine/io/resize.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/util/error.h"

namespace ezivk::io {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's PRECISION_BITS for 8-bit images

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Per output pixel: the first input index and the fixed-point weights of the inputs it reads.
struct Taps {
  std::vector<int> first, count;
  std::vector<std::vector<int32_t>> weights;
};

Taps compute_taps(int in_size, int out_size, PilFilter filter) {
  const double scale = double(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = (filter == PilFilter::Bicubic ? 2.0 : 1.0) * filter_scale;
  double (*kernel)(double) = filter == PilFilter::Bicubic ? bicubic : triangle;
  Taps t;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    // PIL truncates toward zero after adding 0.5 (a C cast).
    const int xmin = std::max(int(center - support + 0.5), 0);
    const int xmax = std::min(int(center + support + 0.5), in_size) - xmin;
    std::vector<double> k(size_t(std::max(xmax, 0)));
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      k[size_t(x)] = kernel((x + xmin - center + 0.5) * ss);
      ww += k[size_t(x)];
    }
    std::vector<int32_t> fixed(k.size());
    for (size_t x = 0; x < k.size(); ++x) {
      const double v = ww != 0 ? k[x] / ww : k[x];
      const double f = v * double(1 << kPrecisionBits);
      fixed[x] = int32_t(v < 0 ? std::trunc(-0.5 + f) : std::trunc(0.5 + f));
    }
    t.first.push_back(xmin);
    t.count.push_back(std::max(xmax, 0));
    t.weights.push_back(std::move(fixed));
  }
  return t;
}

uint8_t clip8(int64_t v) {
  v >>= kPrecisionBits;
  return uint8_t(std::clamp<int64_t>(v, 0, 255));
}

}  // namespace

Image8 resize_pil(const Image8& src, int width, int height, PilFilter filter) {
  if (width < 1 || height < 1 || width > 8192 || height > 8192)
    fail("resize: target size " + std::to_string(width) + "x" + std::to_string(height) + " must be 1..8192");
  if (src.width < 1 || src.height < 1 || src.channels < 1 ||
      src.pixels.size() != size_t(src.width) * size_t(src.height) * size_t(src.channels))
    fail("resize: the source image is empty or its pixel buffer does not match its size");
  const int C = src.channels;
  // PIL skips a pass whose size does not change.
  Image8 tmp = src;
  if (width != src.width) {
    const Taps t = compute_taps(src.width, width, filter);
    tmp.width = width;
    tmp.pixels.assign(size_t(width) * size_t(src.height) * size_t(C), 0);
    for (int y = 0; y < src.height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < C; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int k = 0; k < t.count[size_t(x)]; ++k)
            ss += int64_t(src.pixels[(size_t(y) * size_t(src.width) + size_t(t.first[size_t(x)] + k)) * C + c]) *
                  t.weights[size_t(x)][size_t(k)];
          tmp.pixels[(size_t(y) * size_t(width) + size_t(x)) * C + c] = clip8(ss);
        }
  }
  if (height == src.height) return tmp;
  const Taps t = compute_taps(src.height, height, filter);
  Image8 out;
  out.width = tmp.width;
  out.height = height;
  out.channels = C;
  out.pixels.assign(size_t(out.width) * size_t(height) * size_t(C), 0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < C; ++c) {
        int64_t ss = int64_t(1) << (kPrecisionBits - 1);
        for (int k = 0; k < t.count[size_t(y)]; ++k)
          ss += int64_t(tmp.pixels[(size_t(t.first[size_t(y)] + k) * size_t(out.width) + size_t(x)) * C + c]) *
                t.weights[size_t(y)][size_t(k)];
        out.pixels[(size_t(y) * size_t(out.width) + size_t(x)) * C + c] = clip8(ss);
      }
  return out;
}

std::vector<float> resize_plane_bilinear(const std::vector<float>& src, int in_h, int in_w, int out_h, int out_w) {
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1 || src.size() != size_t(in_h) * size_t(in_w))
    fail("resize: a plane of " + std::to_string(src.size()) + " values is not " + std::to_string(in_h) + "x" +
         std::to_string(in_w) + ", or the target size " + std::to_string(out_h) + "x" + std::to_string(out_w) +
         " is empty");
  struct Tap {
    int i0, i1;
    float l1;
  };
  auto taps = [](int in, int out) {
    std::vector<Tap> t(static_cast<size_t>(out));
    const float scale = float(in) / float(out);
    for (int o = 0; o < out; ++o) {
      const float s = std::max(scale * (float(o) + 0.5f) - 0.5f, 0.0f);
      const int i0 = int(s);
      t[size_t(o)] = {i0, i0 < in - 1 ? i0 + 1 : i0, s - float(i0)};
    }
    return t;
  };
  const auto ty = taps(in_h, out_h), tx = taps(in_w, out_w);
  std::vector<float> out(size_t(out_h) * size_t(out_w));
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const Tap& a = ty[size_t(y)];
      const Tap& b = tx[size_t(x)];
      auto at = [&](int yy, int xx) { return src[size_t(yy) * size_t(in_w) + size_t(xx)]; };
      const float top = (1 - b.l1) * at(a.i0, b.i0) + b.l1 * at(a.i0, b.i1);
      const float bottom = (1 - b.l1) * at(a.i1, b.i0) + b.l1 * at(a.i1, b.i1);
      out[size_t(y) * size_t(out_w) + size_t(x)] = (1 - a.l1) * top + a.l1 * bottom;
    }
  return out;
}

}  // namespace ezivk::io
