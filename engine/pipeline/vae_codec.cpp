#include "engine/pipeline/vae_codec.h"

#include <cmath>

#include "engine/ops/sched_step.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

std::vector<float> rgb8_to_vae_input(const io::Image8& img) {
  if (img.channels != 3 || img.width < 1 || img.height < 1 ||
      img.pixels.size() != size_t(img.width) * size_t(img.height) * 3)
    fail("VAE input: expected an RGB image, got " + std::to_string(img.width) + "x" + std::to_string(img.height) +
         " with " + std::to_string(img.channels) + " channels");
  const size_t hw = size_t(img.width) * size_t(img.height);
  std::vector<float> out(3 * hw);
  for (size_t i = 0; i < hw; ++i)
    for (size_t c = 0; c < 3; ++c) out[c * hw + i] = 2.0f * (float(img.pixels[i * 3 + c]) / 255.0f) - 1.0f;
  return out;
}

EncodedLatents encode_images(StableDiffusion& sd, models::GraphRunner& runner, const std::vector<io::Image8>& images,
                             TorchGenerator& gen) {
  gpu::Context& ctx = *sd.ctx;
  const auto& vc = sd.vae.config;
  if (images.empty()) fail("VAE encode: no images");
  if (!sd.vae.model->has_encoder()) fail(sd.source + ": the VAE was loaded without its encoder");
  const int64_t B = int64_t(images.size()), H = images[0].height, W = images[0].width, f = vc.downsampling();
  if (H % f || W % f)
    fail("VAE encode: " + std::to_string(W) + "x" + std::to_string(H) + " is not a multiple of " + std::to_string(f));
  std::vector<float> input;
  for (const auto& img : images) {
    if (img.width != W || img.height != H) fail("VAE encode: the images differ in size");
    const auto v = rgb8_to_vae_input(img);
    input.insert(input.end(), v.begin(), v.end());
  }
  const Tensor shape_only{{}, sd.dtype, {B, 3, H, W}};
  gpu::Arena arena(ctx, "vae encode input", std::max<uint64_t>(shape_only.bytes(), 256), gpu::MemoryUse::Device);
  const Tensor x{arena.alloc(shape_only.bytes(), 256), sd.dtype, {B, 3, H, W}};
  models::upload_floats(ctx, x, input);
  const Tensor moments = runner.run(sd.dtype, [&](Graph& g) { return sd.vae.model->encode_moments(g, x); });
  const int64_t lc = vc.latent_channels, hw = (H / f) * (W / f);
  const auto m = models::split_moments(models::download_floats(ctx, moments), B, lc, hw);
  const auto eps = gen.randn(B * lc * hw);
  EncodedLatents out;
  out.shape = {B, lc, H / f, W / f};
  out.latent.resize(eps.size());
  out.mean = m.mean;
  const float scale = float(vc.scaling_factor);
  for (size_t i = 0; i < eps.size(); ++i) {
    const float std_dev = std::exp(0.5f * m.logvar[i]);
    out.latent[i] = (m.mean[i] + std_dev * eps[i]) * scale;
  }
  return out;
}

DecodedImages decode_latents(StableDiffusion& sd, models::GraphRunner& runner, const Tensor& latent) {
  gpu::Context& ctx = *sd.ctx;
  const Tensor z_shape{{}, sd.dtype, latent.shape};
  // Reserved before the scaling below is recorded: growing the arena afterwards would be an Error.
  runner.reserve(runner.plan(sd.dtype, [&](Graph& g) { return sd.vae.model->decode(g, z_shape); }));
  gpu::Arena arena(ctx, "vae decode input", std::max<uint64_t>(z_shape.bytes(), 256), gpu::MemoryUse::Device);
  const Tensor z{arena.alloc(z_shape.bytes(), 256), sd.dtype, latent.shape};
  ops::sched_model_input(ctx, runner.recorder(), latent, z, float(1.0 / sd.vae.config.scaling_factor));
  const Tensor img = runner.run(sd.dtype, [&](Graph& g) { return sd.vae.model->decode(g, z); });
  DecodedImages out;
  out.raw = models::download_floats(ctx, img);
  const int64_t B = img.dim(0), C = img.dim(1), H = img.dim(2), W = img.dim(3);
  for (int64_t b = 0; b < B; ++b)
    out.images.push_back(io::latent_image_to_rgb8(out.raw.data() + b * C * H * W, int(C), int(H), int(W)));
  return out;
}

}  // namespace ezivk::pipeline
