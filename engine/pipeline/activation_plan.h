#pragma once
// The activation memory of a text-to-image run, from planning passes of each model (nothing is allocated): what
// the run reserves (one arena for the largest), `ezivk inspect` reports and the memory-budget test checks.
#include <algorithm>
#include <cstdint>

#include "engine/gpu/context.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/unet2d_condition.h"

namespace ezivk::pipeline {

struct ActivationPlan {
  uint64_t text = 0, unet = 0, vae_decode = 0;
  uint64_t peak() const { return std::max({text, unet, vae_decode}); }
};

// batch images of latent h × w; the text encoder runs on `prompts` sequences of `seq` tokens (2 with guidance:
// [negative, prompt]) and the UNet on `unet_batch` items (2·batch with guidance).
ActivationPlan plan_activations(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                                const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae,
                                int64_t batch, int64_t unet_batch, int64_t prompts, int64_t seq, int64_t h, int64_t w);

}  // namespace ezivk::pipeline
