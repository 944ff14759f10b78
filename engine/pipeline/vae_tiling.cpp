#include "engine/pipeline/vae_tiling.h"

#include <algorithm>
#include <string>

#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

std::vector<int64_t> tile_origins(int64_t n, int64_t tile, int64_t overlap) {
  if (n < 1 || tile < 1 || overlap < 0 || (tile < n && overlap >= tile))
    fail("tile_origins: bad tiling of " + std::to_string(n) + " by " + std::to_string(tile) + " with overlap " +
         std::to_string(overlap));
  if (tile >= n) return {0};
  std::vector<int64_t> o;
  for (int64_t at = 0; at + tile < n; at += tile - overlap) o.push_back(at);
  o.push_back(n - tile);
  return o;
}

float tile_weight(int64_t i, int64_t n, int64_t ramp, bool before, bool after) {
  float w = 1.f;
  if (ramp <= 0) return w;
  if (before && i < ramp) w = std::min(w, (float(i) + 0.5f) / float(ramp));
  if (after && i >= n - ramp) w = std::min(w, (float(n - i) - 0.5f) / float(ramp));
  return w;
}

DecodeTiling plan_decode_tiling(gpu::Context& ctx, ops::DType dtype, const models::AutoencoderKL& vae, int64_t batch,
                                int64_t h, int64_t w) {
  const int64_t c = vae.config().latent_channels;
  auto plan = [&](int64_t b, int64_t th, int64_t tw) {
    const Tensor z{{}, dtype, {b, c, th, tw}};
    return models::GraphRunner::plan_forward(ctx, dtype, [&](Graph& g) { return vae.decode(g, z); });
  };
  DecodeTiling t;
  const auto whole = plan(batch, h, w);
  if (whole.fits(ctx)) {
    t.tile_h = h, t.tile_w = w, t.rows = {0}, t.cols = {0}, t.activation_bytes = whole.activation_bytes;
    return t;
  }
  // One image at a time, then ever smaller tiles: the largest that fits keeps the blended area small.
  models::GraphRunner::Plan last = whole;
  for (int64_t side = std::max(h, w); side >= 8; side = side > 8 && side % 8 ? side / 8 * 8 : side - 8) {
    const int64_t th = std::min(h, side), tw = std::min(w, side);
    last = plan(1, th, tw);
    if (!last.fits(ctx)) continue;
    t.tiled = true;
    t.tile_h = th, t.tile_w = tw;
    t.overlap = th < h || tw < w ? std::max<int64_t>(1, std::min(th, tw) / 4) : 0;
    t.rows = tile_origins(h, th, std::min(t.overlap, th - 1));
    t.cols = tile_origins(w, tw, std::min(t.overlap, tw - 1));
    t.activation_bytes = last.activation_bytes;
    return t;
  }
  fail("VAE decode: even an 8x8-latent tile " + last.widest.describe() + ", over this device's storage-buffer range of " +
       gpu::format_bytes(ctx.caps().max_storage_buffer_range));
}

}  // namespace ezivk::pipeline
