#include "engine/pipeline/vae_codec.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/sched_step.h"
#include "engine/pipeline/vae_tiling.h"
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

namespace {

void to_rgb8(DecodedImages& out, int64_t B, int64_t C, int64_t H, int64_t W) {
  for (int64_t b = 0; b < B; ++b)
    out.images.push_back(io::latent_image_to_rgb8(out.raw.data() + b * C * H * W, int(C), int(H), int(W)));
}

// Each tile of each image decoded alone and blended (vae_tiling.h); the latent goes through the host, where the
// tiles are cut and scaled (it is small: 1/64 of the image's values).
DecodedImages decode_tiled(StableDiffusion& sd, models::GraphRunner& runner, const Tensor& latent, const DecodeTiling& t) {
  gpu::Context& ctx = *sd.ctx;
  const int64_t B = latent.dim(0), LC = latent.dim(1), h = latent.dim(2), w = latent.dim(3);
  const int64_t f = sd.vae.config.downsampling(), C = sd.vae.config.out_channels, H = h * f, W = w * f;
  const auto z_host = models::download_floats(ctx, latent);
  const Tensor tile_shape{{}, sd.dtype, {1, LC, t.tile_h, t.tile_w}};
  runner.reserve(t.activation_bytes);
  gpu::Arena arena(ctx, "vae decode tile", std::max<uint64_t>(tile_shape.bytes(), 256), gpu::MemoryUse::Device);
  const Tensor z{arena.alloc(tile_shape.bytes(), 256), sd.dtype, tile_shape.shape};
  const float inv_scale = float(1.0 / sd.vae.config.scaling_factor);
  const int64_t ramp = t.overlap * f, th = t.tile_h * f, tw = t.tile_w * f;
  std::vector<float> acc(size_t(B * C * H * W), 0.f), wsum(size_t(H * W), 0.f);
  std::vector<float> tile(size_t(LC * t.tile_h * t.tile_w));
  for (int64_t b = 0; b < B; ++b) {
    std::fill(wsum.begin(), wsum.end(), 0.f);
    for (size_t ri = 0; ri < t.rows.size(); ++ri)
      for (size_t ci = 0; ci < t.cols.size(); ++ci) {
        const int64_t r0 = t.rows[ri], c0 = t.cols[ci];
        for (int64_t c = 0; c < LC; ++c)
          for (int64_t y = 0; y < t.tile_h; ++y)
            for (int64_t x = 0; x < t.tile_w; ++x)
              tile[size_t((c * t.tile_h + y) * t.tile_w + x)] =
                  z_host[size_t(((b * LC + c) * h + r0 + y) * w + c0 + x)] * inv_scale;
        models::upload_floats(ctx, z, tile);
        const Tensor img = runner.run(sd.dtype, [&](Graph& g) { return sd.vae.model->decode(g, z); });
        const auto px = models::download_floats(ctx, img);  // [1, C, th, tw]
        for (int64_t y = 0; y < th; ++y) {
          const float wy = tile_weight(y, th, ramp, ri > 0, ri + 1 < t.rows.size());
          for (int64_t x = 0; x < tw; ++x) {
            const float wt = wy * tile_weight(x, tw, ramp, ci > 0, ci + 1 < t.cols.size());
            const size_t at = size_t((r0 * f + y) * W + c0 * f + x);
            wsum[at] += wt;
            for (int64_t c = 0; c < C; ++c) acc[size_t((b * C + c) * H * W) + at] += wt * px[size_t((c * th + y) * tw + x)];
          }
        }
      }
    for (int64_t c = 0; c < C; ++c)
      for (size_t i = 0; i < wsum.size(); ++i) acc[size_t((b * C + c) * H * W) + i] /= wsum[i];
  }
  DecodedImages out;
  out.raw = std::move(acc);
  out.tiles = int(t.rows.size() * t.cols.size());
  to_rgb8(out, B, C, H, W);
  return out;
}

}  // namespace

DecodedImages decode_latents(StableDiffusion& sd, models::GraphRunner& runner, const Tensor& latent) {
  gpu::Context& ctx = *sd.ctx;
  const DecodeTiling tiling = plan_decode_tiling(ctx, sd.dtype, *sd.vae.model, latent.dim(0), latent.dim(2), latent.dim(3));
  if (tiling.tiled) return decode_tiled(sd, runner, latent, tiling);
  const Tensor z_shape{{}, sd.dtype, latent.shape};
  // Reserved before the scaling below is recorded: growing the arena afterwards would be an Error.
  runner.reserve(tiling.activation_bytes);
  gpu::Arena arena(ctx, "vae decode input", std::max<uint64_t>(z_shape.bytes(), 256), gpu::MemoryUse::Device);
  const Tensor z{arena.alloc(z_shape.bytes(), 256), sd.dtype, latent.shape};
  ops::sched_model_input(ctx, runner.recorder(), latent, z, float(1.0 / sd.vae.config.scaling_factor));
  const Tensor img = runner.run(sd.dtype, [&](Graph& g) { return sd.vae.model->decode(g, z); });
  DecodedImages out;
  out.raw = models::download_floats(ctx, img);
  to_rgb8(out, img.dim(0), img.dim(1), img.dim(2), img.dim(3));
  return out;
}

}  // namespace ezivk::pipeline
