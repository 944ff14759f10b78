#pragma once
// The activation memory of a pipeline run, from planning passes of each model (nothing is allocated): what the run
// reserves (one arena for the largest), `ezivk inspect` reports and the memory-budget test checks. Every forward a
// run records must be planned here with what it will really run: hooks allocate too (EZIGen's adapter doubles
// attn1's keys), and a forward that outgrows the reserved arena after other work was recorded is an Error.
#include <algorithm>
#include <cstdint>

#include "engine/gpu/context.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/transformer2d.h"
#include "engine/models/unet2d_condition.h"
#include "engine/pipeline/vae_tiling.h"

namespace ezivk::pipeline {

struct ActivationPlan {
  uint64_t text = 0, unet = 0, unet_hooked = 0, vae_encode = 0, vae_decode = 0;
  DecodeTiling decode_tiling;  // how the decoder runs (whole, or in tiles); vae_decode is one decode of it
  uint64_t peak() const { return std::max({text, unet, unet_hooked, vae_encode, vae_decode}); }
};

struct PlanShape {
  int64_t batch = 1;       // images of latent h × w
  int64_t unet_batch = 2;  // UNet items per step (2·batch with guidance)
  int64_t prompts = 2;     // text-encoder sequences per encode (2 with guidance: [negative, prompt])
  int64_t seq = 77;        // tokens per sequence
  int64_t h = 64, w = 64;  // latent size
  int64_t encode_batch = 0;  // images the VAE encodes at once (0: the run encodes none)
  // UNet steps that run with hooks (EZIGen's subject capture and adapter); planned with these, on unet_batch items.
  const models::BlockHooks* hooks = nullptr;
};

// The largest square image (a multiple of 8 latent pixels, up to 8192 pixels) whose plan fits this device's
// storage-buffer range with `shape`'s batch and guidance (its h and w are ignored); 0 when not even 8x8 latent
// pixels fit. The VAE decoder never limits it (it decodes in tiles).
int64_t largest_square_size(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                            const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae, PlanShape shape);

// Fails, before any work, when a forward at `shape` would bind a tensor wider than the device's storage-buffer
// range (naming the model part, the op, the tensor and the size).
ActivationPlan plan_activations(gpu::Context& ctx, ops::DType dtype, const models::ClipTextModel& text,
                                const models::UNet2DConditionModel& unet, const models::AutoencoderKL& vae,
                                const PlanShape& shape);

}  // namespace ezivk::pipeline
