#pragma once
// A Stable Diffusion model on the device: UNet, VAE (encoder and decoder: editing and subject encoding need both),
// CLIP text encoder, tokenizer and the folder's scheduler settings.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/gpu/context.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/clip_tokenizer.h"
#include "engine/models/component.h"
#include "engine/models/unet2d_condition.h"
#include "engine/sched/scheduler_config.h"

namespace ezivk::pipeline {

struct StableDiffusion {
  gpu::Context* ctx = nullptr;
  ops::DType dtype = ops::DType::F16;
  models::Component<models::UNet2DConditionModel, models::UNetConfig> unet;
  models::Component<models::AutoencoderKL, models::VaeConfig> vae;
  models::Component<models::ClipTextModel, models::ClipTextConfig> text;
  std::optional<models::ClipTokenizer> tokenizer;  // absent for random-weight benchmark models
  sched::SchedulerConfig scheduler_config;
  std::optional<sched::SchedulerKind> default_scheduler;  // from the folder's _class_name
  std::string source;  // the folder, or "random SD2.1-base weights"

  // Checks that the parts fit together (context width, vocabulary); Error naming the files otherwise.
  void check_consistency() const;
  uint64_t weight_bytes() const {
    return unet.report.device_bytes + vae.report.device_bytes + text.report.device_bytes;
  }
};

// The checks every command runs on a folder's parts before using them (generate, edit, inspect alike): the text
// encoder's width matches the UNet's cross-attention, latent channels agree, the tokenizer fits the text encoder's
// vocabulary and positions, no shift_factor. Error naming the files otherwise. `tokenizer` may be null.
void check_model_consistency(const std::string& source, const models::ClipTextConfig& text, const models::UNetConfig& unet,
                             const models::VaeConfig& vae, const models::ClipTokenizer* tokenizer);
// The scheduler the folder's scheduler_config.json names, or an Error naming the file and the schedulers ezivk has
// (a folder whose _class_name is unknown needs an explicit scheduler; it never silently runs another one).
sched::SchedulerKind folder_scheduler(const sched::SchedulerConfig& config);

// Loads a diffusers folder; `progress` (optional) hears "loading unet" etc. dtype falls back to f32 where the device
// has no fp16.
std::unique_ptr<StableDiffusion> load_stable_diffusion(gpu::Context& ctx, const std::string& folder, ops::DType dtype,
                                                       const std::string& variant = "",
                                                       const std::function<void(const std::string&)>& progress = {});
// SD2.1-base shapes with deterministic random weights and no tokenizer (benchmarks).
std::unique_ptr<StableDiffusion> random_sd21_base(gpu::Context& ctx, ops::DType dtype, uint64_t seed = 1);

}  // namespace ezivk::pipeline
