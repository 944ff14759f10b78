#include "engine/pipeline/activation_plan.h"

#include <functional>
#include <string>

#include "engine/models/graph_runner.h"
#include "engine/pipeline/vae_tiling.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

ActivationPlan plan_activations(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                                const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae,
                                const PlanShape& s) {
  const auto& uc = unet.config();
  const int64_t f = vae.config().downsampling();
  // Planning passes need shapes only: the tensors have no memory.
  const Tensor sample{{}, dtype, {s.unet_batch, uc.in_channels, s.h, s.w}}, t{{}, ops::DType::F32, {s.unet_batch}},
      context{{}, dtype, {s.unet_batch, s.seq, uc.cross_attention_dim}},
      image{{}, dtype, {s.encode_batch, vae.config().in_channels, s.h * f, s.w * f}};
  const std::string at = " at " + std::to_string(s.w * f) + "x" + std::to_string(s.h * f);
  const std::string hint = "; the image is too large for this device in " + std::string(ops::dtype_name(dtype)) +
                           " (`ezivk inspect MODEL` prints the largest size it runs" +
                           (dtype == ops::DType::F32 ? "; --precision fp16 halves every tensor)" : ")");
  ActivationPlan p;
  // Each plan fails, before any work is recorded, when an op would bind a tensor wider than the device's
  // storage-buffer range; the message names the model part and the size.
  auto planned = [&](const std::string& what, const std::function<models::Act(Graph&)>& forward) {
    try {
      return models::GraphRunner::plan(ctx, what + at, dtype, forward);
    } catch (const Error& e) {
      fail(std::string(e.what()) + hint);
    }
  };
  p.text = planned("text encoder", [&](Graph& g) { return text.forward(g, {}, s.prompts, s.seq); });
  p.unet = planned("UNet", [&](Graph& g) { return unet.forward(g, sample, t, context); });
  if (s.hooks) p.unet_hooked = planned("UNet with hooks", [&](Graph& g) { return unet.forward(g, sample, t, context, s.hooks); });
  if (s.encode_batch > 0 && vae.has_encoder())
    p.vae_encode = planned("VAE encoder", [&](Graph& g) { return vae.encode_moments(g, image); });
  // The decoder takes tiles when the whole latent does not fit.
  p.decode_tiling = plan_decode_tiling(ctx, dtype, vae, s.batch, s.h, s.w);
  p.vae_decode = p.decode_tiling.activation_bytes;
  return p;
}

int64_t largest_square_size(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                            const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae, PlanShape shape) {
  const int64_t f = vae.config().downsampling();
  auto fits = [&](int64_t side) {
    shape.h = shape.w = side;
    try {
      plan_activations(ctx, dtype, text, unet, vae, shape);
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  // Binding widths grow with the size, so the sizes that fit are a prefix: bisect over multiples of 8.
  int64_t lo = 0, hi = 8192 / f / 8 + 1;  // lo·8 fits (0: nothing checked yet), hi·8 does not
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    (fits(mid * 8) ? lo : hi) = mid;
  }
  return lo * 8 * f;
}

}  // namespace ezivk::pipeline
