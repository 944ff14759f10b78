#pragma once
// Text-to-image as diffusers' StableDiffusionPipeline computes it: prompt and negative prompt through the CLIP text
// encoder, torch-identical seeded noise, the scheduler loop with classifier-free guidance (uncond and cond in one
// UNet batch), VAE decode: the three shared stages (prompt_context.h, denoise.h, vae_codec.h) in a row.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/models/clip_tokenizer.h"
#include "engine/pipeline/cancel.h"
#include "engine/pipeline/denoise.h"
#include "engine/pipeline/device_preview.h"
#include "engine/pipeline/events.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/sched/scheduler_config.h"

namespace ezivk::pipeline {

struct TextToImageParams {
  std::string prompt;
  std::string negative_prompt;                       // the unconditional prompt ("" by default)
  int steps = 50;
  double guidance = 7.5;                             // ≤ 1 turns classifier-free guidance off
  uint64_t seed = 0;
  std::optional<sched::SchedulerKind> scheduler;     // default: the folder's scheduler
  std::vector<std::string> scheduler_overrides;      // "key=value" on top of scheduler_config.json
  int64_t width = 0, height = 0;                     // 0: the UNet's sample_size × the VAE's factor
  int batch = 1;                                     // images per prompt
  bool preview_x0 = false;                           // StepDone events carry x̂0 (a download per step)
  PreviewSlot preview_slot;                          // set: StepDone::x0_device, x̂0 copied on the device
  bool profile = false;                              // GPU time per op over the UNet steps (timestamps)
  const CancelFlag* cancel = nullptr;                // checked between steps: the run throws Cancelled
  // Token ids instead of text (models without a tokenizer, tests). Each must have the text encoder's length.
  std::optional<std::vector<int32_t>> prompt_ids, negative_ids;
};

struct TextToImageResult {
  std::vector<io::Image8> images;          // batch images, RGB
  std::vector<float> latent;               // final latent [batch, C, h, w]
  std::vector<int64_t> latent_shape;
  std::vector<float> decoded;              // raw VAE output [batch, 3, H, W] (before clamp(x/2 + 0.5))
  models::TokenizedPrompt prompt_tokens, negative_tokens;
  std::string scheduler;                   // the name actually used
  std::vector<float> timesteps;
  int64_t width = 0, height = 0;
  bool guided = false;
  double text_seconds = 0, decode_seconds = 0, total_seconds = 0;
  int decode_tiles = 1;  // per image; more than 1 when the VAE decoded in tiles (the device's storage-buffer range)
  std::vector<double> step_seconds;
  uint64_t weight_bytes = 0, activation_bytes = 0, state_bytes = 0;  // device memory held during the run
  std::vector<OpTime> profile;  // with params.profile, slowest first
};

TextToImageResult text_to_image(StableDiffusion& sd, const TextToImageParams& params, const EventSink& events = {});

}  // namespace ezivk::pipeline
