#include "engine/pipeline/latent_preview.h"

#include <algorithm>
#include <cmath>

#include "engine/pipeline/vae_codec.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

LatentRgbFit fit_latent_rgb(const std::vector<float>& features, int c, const std::vector<float>& targets) {
  if (c < 1 || c > 4) fail("latent preview fit: 1 to 4 latent channels are used, got " + std::to_string(c));
  const size_t n = features.size() / size_t(c);
  if (n == 0 || features.size() != n * size_t(c) || targets.size() != n * 3)
    fail("latent preview fit: features and targets disagree in size");
  // Normal equations over [z, 1]: (XᵀX + λI) w = Xᵀy, solved by Gaussian elimination with partial pivoting.
  const int m = c + 1;
  std::vector<double> xtx(size_t(m * m), 0.0), xty(size_t(m * 3), 0.0);
  for (size_t i = 0; i < n; ++i) {
    double x[5];
    for (int k = 0; k < c; ++k) x[k] = features[i * size_t(c) + size_t(k)];
    x[c] = 1.0;
    for (int a = 0; a < m; ++a) {
      for (int b = 0; b < m; ++b) xtx[size_t(a * m + b)] += x[a] * x[b];
      for (int o = 0; o < 3; ++o) xty[size_t(a * 3 + o)] += x[a] * targets[i * 3 + size_t(o)];
    }
  }
  for (int a = 0; a < c; ++a) xtx[size_t(a * m + a)] += 1e-6 * double(n);
  for (int col = 0; col < m; ++col) {
    int piv = col;
    for (int r = col + 1; r < m; ++r)
      if (std::abs(xtx[size_t(r * m + col)]) > std::abs(xtx[size_t(piv * m + col)])) piv = r;
    for (int k = 0; k < m; ++k) std::swap(xtx[size_t(col * m + k)], xtx[size_t(piv * m + k)]);
    for (int o = 0; o < 3; ++o) std::swap(xty[size_t(col * 3 + o)], xty[size_t(piv * 3 + o)]);
    const double d = xtx[size_t(col * m + col)];
    if (std::abs(d) < 1e-12) fail("latent preview fit: the fitting latents do not vary");
    for (int r = 0; r < m; ++r) {
      if (r == col) continue;
      const double f = xtx[size_t(r * m + col)] / d;
      for (int k = 0; k < m; ++k) xtx[size_t(r * m + k)] -= f * xtx[size_t(col * m + k)];
      for (int o = 0; o < 3; ++o) xty[size_t(r * 3 + o)] -= f * xty[size_t(col * 3 + o)];
    }
  }
  LatentRgbFit fit;
  for (int o = 0; o < 3; ++o) {
    for (int k = 0; k < c; ++k) fit.proj[size_t(o * 4 + k)] = float(xty[size_t(k * 3 + o)] / xtx[size_t(k * m + k)]);
    fit.bias[size_t(o)] = float(xty[size_t(c * 3 + o)] / xtx[size_t(c * m + c)]);
  }
  double se = 0;
  for (size_t i = 0; i < n; ++i)
    for (int o = 0; o < 3; ++o) {
      double v = fit.bias[size_t(o)];
      for (int k = 0; k < c; ++k) v += double(fit.proj[size_t(o * 4 + k)]) * features[i * size_t(c) + size_t(k)];
      se += (v - targets[i * 3 + size_t(o)]) * (v - targets[i * 3 + size_t(o)]);
    }
  fit.rmse = std::sqrt(se / double(n * 3));
  fit.samples = int(n);
  return fit;
}

std::vector<io::Image8> latent_fit_images(int size, int count) {
  std::vector<io::Image8> out;
  for (int k = 0; k < count; ++k) {
    io::Image8 img{size, size, 3, std::vector<uint8_t>(size_t(size * size * 3))};
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const float u = float(x) / float(size - 1), v = float(y) / float(size - 1);
        float rgb[3];
        if (k % 2 == 0) {  // smooth gradients, rotated per image
          rgb[0] = u, rgb[1] = v, rgb[2] = 1.f - 0.5f * (u + v);
          std::rotate(rgb, rgb + k / 2 % 3, rgb + 3);
        } else {  // a 4x4 grid of saturated and grey blocks
          const int cell = (y * 4 / size) * 4 + x * 4 / size + k;
          static const float kColours[8][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0},
                                               {0, 1, 1}, {1, 0, 1}, {1, 1, 1}, {0.1f, 0.1f, 0.1f}};
          for (int ch = 0; ch < 3; ++ch) rgb[ch] = kColours[cell % 8][ch] * (0.5f + 0.5f * float((cell / 8) % 2));
        }
        for (int ch = 0; ch < 3; ++ch) img.pixels[size_t((y * size + x) * 3 + ch)] = uint8_t(std::lround(255.f * rgb[ch]));
      }
    out.push_back(std::move(img));
  }
  return out;
}

LatentRgbFit fit_latent_rgb(StableDiffusion& sd, models::GraphRunner& runner, int size) {
  if (!sd.vae.model->has_encoder()) fail("latent preview fit: the VAE has no encoder");
  const int64_t f = sd.vae.model->config().downsampling();
  size = int(std::max<int64_t>(f, size / f * f));
  const auto images = latent_fit_images(size, 4);
  TorchGenerator gen(0);
  std::vector<float> features, targets;
  const double scale = sd.vae.model->config().scaling_factor;
  const int64_t lc = sd.vae.model->config().latent_channels, c = std::min<int64_t>(lc, 4), h = size / f;
  for (const auto& img : images) {
    // One at a time: the plan of a single small encode fits every device.
    const EncodedLatents e = encode_images(sd, runner, {img}, gen);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < h; ++x) {
        for (int64_t ch = 0; ch < c; ++ch) features.push_back(float(e.mean[size_t((ch * h + y) * h + x)] * scale));
        for (int ch = 0; ch < 3; ++ch) {
          double s = 0;
          for (int64_t yy = y * f; yy < (y + 1) * f; ++yy)
            for (int64_t xx = x * f; xx < (x + 1) * f; ++xx) s += img.pixels[size_t((yy * size + xx) * 3 + ch)];
          targets.push_back(float(s / double(f * f) / 255.0));
        }
      }
  }
  return fit_latent_rgb(features, int(c), targets);
}

}  // namespace ezivk::pipeline
