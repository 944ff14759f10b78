#include "engine/pipeline/activation_plan.h"

#include "engine/models/graph_runner.h"

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
      z{{}, dtype, {s.batch, vae.config().latent_channels, s.h, s.w}},
      image{{}, dtype, {s.encode_batch, vae.config().in_channels, s.h * f, s.w * f}};
  models::GraphRunner runner(ctx, "plan");
  ActivationPlan p;
  p.text = runner.plan(dtype, [&](Graph& g) { return text.forward(g, {}, s.prompts, s.seq); });
  p.unet = runner.plan(dtype, [&](Graph& g) { return unet.forward(g, sample, t, context); });
  if (s.hooks) p.unet_hooked = runner.plan(dtype, [&](Graph& g) { return unet.forward(g, sample, t, context, s.hooks); });
  if (s.encode_batch > 0 && vae.has_encoder())
    p.vae_encode = runner.plan(dtype, [&](Graph& g) { return vae.encode_moments(g, image); });
  p.vae_decode = runner.plan(dtype, [&](Graph& g) { return vae.decode(g, z); });
  return p;
}

}  // namespace ezivk::pipeline
