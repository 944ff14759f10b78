// The latent preview projection: the least-squares fit itself on data with a known answer, and the fit a model's own
// VAE gives, which must predict colours of images it did not see better than their mean colour does.
#include "engine/pipeline/latent_preview.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/pipeline/vae_codec.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

TEST(LatentPreviewFit, RecoversAKnownLinearMap) {
  for (int c : {1, 3, 4}) {
    SCOPED_TRACE(c);
    const size_t n = 517;
    const auto z = random_floats(n * size_t(c), uint32_t(40 + c), -3.f, 3.f);
    const auto a = random_floats(12, uint32_t(50 + c), -0.5f, 0.5f), b = random_floats(3, uint32_t(60 + c));
    std::vector<float> y(n * 3);
    for (size_t i = 0; i < n; ++i)
      for (int o = 0; o < 3; ++o) {
        double v = b[size_t(o)];
        for (int k = 0; k < c; ++k) v += double(a[size_t(o * 4 + k)]) * z[i * size_t(c) + size_t(k)];
        y[i * 3 + size_t(o)] = float(v);
      }
    const auto fit = pipeline::fit_latent_rgb(z, c, y);
    for (int o = 0; o < 3; ++o) {
      for (int k = 0; k < 4; ++k) EXPECT_NEAR(fit.proj[size_t(o * 4 + k)], k < c ? a[size_t(o * 4 + k)] : 0.f, 1e-4) << o << k;
      EXPECT_NEAR(fit.bias[size_t(o)], b[size_t(o)], 1e-4);
    }
    EXPECT_LT(fit.rmse, 1e-4);
    EXPECT_EQ(fit.samples, int(n));
  }
  // A channel that never varies is held at zero by the ridge instead of making the system singular.
  const auto flat = pipeline::fit_latent_rgb(std::vector<float>(12, 1.f), 4, std::vector<float>{0.2f, 0.4f, 0.6f, 0.2f, 0.4f, 0.6f, 0.2f, 0.4f, 0.6f});
  EXPECT_NEAR(flat.bias[1] + 4 * flat.proj[4], 0.4f, 1e-3);
  EXPECT_LT(flat.rmse, 1e-3);
  EXPECT_THROW(pipeline::fit_latent_rgb(std::vector<float>(10), 5, std::vector<float>(6)), Error);
}

using LatentPreviewModel = GpuTest;

// On sd2-tiny (random weights, so its latents are only roughly linear in colour): the fitted projection predicts
// held-out pictures of the same kind (the next gradient and block images) with a smaller error than their own mean
// colour.
TEST_F(LatentPreviewModel, FitPredictsUnseenImagesBetterThanTheirMean) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  models::GraphRunner runner(ctx(), "preview fit");
  const auto fit = pipeline::fit_latent_rgb(*sd, runner, 32);  // images 0-3
  EXPECT_GT(fit.samples, 0);
  const int64_t f = sd->vae.model->config().downsampling();
  for (int held : {4, 5}) {
  SCOPED_TRACE(held);
  const io::Image8 img = pipeline::latent_fit_images(32, 6)[size_t(held)];
  TorchGenerator gen(3);
  const auto e = pipeline::encode_images(*sd, runner, {img}, gen);
  const int64_t h = 32 / f, c = std::min<int64_t>(sd->vae.model->config().latent_channels, 4);
  const double scale = sd->vae.model->config().scaling_factor;
  double se_fit = 0, se_mean = 0, mean[3] = {0, 0, 0};
  std::vector<double> target(size_t(h * h * 3));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < h; ++x)
      for (int ch = 0; ch < 3; ++ch) {
        double s = 0;
        for (int64_t yy = y * f; yy < (y + 1) * f; ++yy)
          for (int64_t xx = x * f; xx < (x + 1) * f; ++xx) s += img.pixels[size_t((yy * 32 + xx) * 3 + ch)];
        target[size_t((y * h + x) * 3 + ch)] = s / double(f * f) / 255.0;
        mean[ch] += target[size_t((y * h + x) * 3 + ch)] / double(h * h);
      }
  for (int64_t p = 0; p < h * h; ++p)
    for (int ch = 0; ch < 3; ++ch) {
      double v = fit.bias[size_t(ch)];
      for (int64_t k = 0; k < c; ++k) v += fit.proj[size_t(ch * 4 + k)] * e.mean[size_t(k * h * h + p)] * scale;
      se_fit += (v - target[size_t(p * 3 + ch)]) * (v - target[size_t(p * 3 + ch)]);
      se_mean += (mean[ch] - target[size_t(p * 3 + ch)]) * (mean[ch] - target[size_t(p * 3 + ch)]);
    }
  EXPECT_LT(se_fit, se_mean) << "fit rmse " << std::sqrt(se_fit / double(h * h * 3)) << ", mean-colour rmse "
                             << std::sqrt(se_mean / double(h * h * 3));
  }
}

}  // namespace
}  // namespace ezivk::test
