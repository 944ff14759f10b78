#include "engine/pipeline/activation_plan.h"

#include "engine/models/graph_runner.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

ActivationPlan plan_activations(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                                const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae,
                                int64_t batch, int64_t unet_batch, int64_t prompts, int64_t seq, int64_t h, int64_t w) {
  const auto& uc = unet.config();
  // Planning passes need shapes only: the tensors have no memory.
  const Tensor sample{{}, dtype, {unet_batch, uc.in_channels, h, w}}, t{{}, ops::DType::F32, {unet_batch}},
      context{{}, dtype, {unet_batch, seq, uc.cross_attention_dim}},
      z{{}, dtype, {batch, vae.config().latent_channels, h, w}};
  models::GraphRunner runner(ctx, "plan");
  ActivationPlan p;
  p.text = runner.plan(dtype, [&](Graph& g) { return text.forward(g, {}, prompts, seq); });
  p.unet = runner.plan(dtype, [&](Graph& g) { return unet.forward(g, sample, t, context); });
  p.vae_decode = runner.plan(dtype, [&](Graph& g) { return vae.decode(g, z); });
  return p;
}

}  // namespace ezivk::pipeline
