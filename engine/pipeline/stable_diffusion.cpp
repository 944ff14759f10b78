#include "engine/pipeline/stable_diffusion.h"

#include "engine/util/error.h"
#include "engine/io/json_file.h"
#include "engine/models/sd21_base.h"

namespace ezivk::pipeline {

void check_model_consistency(const std::string& source, const models::ClipTextConfig& text, const models::UNetConfig& unet,
                             const models::VaeConfig& vae, const models::ClipTokenizer* tokenizer) {
  if (text.hidden_size != unet.cross_attention_dim)
    fail(source + ": the text encoder's hidden_size " + std::to_string(text.hidden_size) +
         " (text_encoder/config.json) does not match the UNet's cross_attention_dim " +
         std::to_string(unet.cross_attention_dim) + " (unet/config.json)");
  if (vae.latent_channels != unet.in_channels || unet.out_channels != unet.in_channels)
    fail(source + ": the VAE's latent_channels " + std::to_string(vae.latent_channels) +
         " (vae/config.json) do not match the UNet's in/out channels " + std::to_string(unet.in_channels) + "/" +
         std::to_string(unet.out_channels) + " (unet/config.json)");
  if (tokenizer && tokenizer->vocab_size() > text.vocab_size)
    fail(source + ": the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
         " tokens but the text encoder's vocab_size is " + std::to_string(text.vocab_size) + " (text_encoder/config.json)");
  if (tokenizer && tokenizer->max_length() > text.max_position_embeddings)
    fail(source + ": the tokenizer's model_max_length " + std::to_string(tokenizer->max_length()) +
         " (tokenizer/tokenizer_config.json) exceeds the text encoder's max_position_embeddings " +
         std::to_string(text.max_position_embeddings) + " (text_encoder/config.json)");
  if (vae.shift_factor != 0)
    fail(source + ": the VAE has shift_factor " + std::to_string(vae.shift_factor) +
         " (vae/config.json); SD 1.x/2.x pipelines have none and this engine does not apply one");
}

sched::SchedulerKind folder_scheduler(const sched::SchedulerConfig& config) {
  if (auto k = sched::scheduler_kind_from_class_name(config.class_name)) return *k;
  fail(config.source + ": _class_name '" + config.class_name +
       "' is not a scheduler ezivk has (DDIMScheduler, DDPMScheduler, PNDMScheduler, EulerDiscreteScheduler, "
       "EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler); choose one with --scheduler");
}

void StableDiffusion::check_consistency() const {
  check_model_consistency(source, text.config, unet.config, vae.config, tokenizer ? &*tokenizer : nullptr);
}

std::unique_ptr<StableDiffusion> load_stable_diffusion(gpu::Context& ctx, const std::string& folder_path,
                                                       ops::DType dtype, const std::string& variant,
                                                       const std::function<void(const std::string&)>& progress) {
  if (dtype == ops::DType::F16 && !ctx.fp16()) dtype = ops::DType::F32;
  const models::ModelFolder folder(folder_path, variant);
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  auto sd = std::make_unique<StableDiffusion>();
  sd->ctx = &ctx;
  sd->dtype = dtype;
  sd->source = folder_path;
  // Configs and the tokenizer first: a wrong folder fails in milliseconds, not after the UNet's upload.
  const io::JsonFile sched_file(folder.config("scheduler"));
  sd->scheduler_config = sched::SchedulerConfig::from_json(sched_file.json(), sched_file.path().string());
  sd->default_scheduler = sched::scheduler_kind_from_class_name(sd->scheduler_config.class_name);
  say("loading tokenizer");
  sd->tokenizer = models::ClipTokenizer::from_folder(folder.tokenizer_dir());
  say("loading text encoder");
  sd->text = models::load_component<models::ClipTextModel, models::ClipTextConfig>(folder, "text_encoder", &ctx, dtype);
  say("loading unet");
  sd->unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", &ctx, dtype);
  say("loading vae");
  sd->vae = models::load_component<models::AutoencoderKL, models::VaeConfig>(folder, "vae", &ctx, dtype);
  sd->check_consistency();
  return sd;
}

std::unique_ptr<StableDiffusion> random_sd21_base(gpu::Context& ctx, ops::DType dtype, uint64_t seed) {
  if (dtype == ops::DType::F16 && !ctx.fp16()) dtype = ops::DType::F32;
  auto sd = std::make_unique<StableDiffusion>();
  sd->ctx = &ctx;
  sd->dtype = dtype;
  sd->source = "random SD2.1-base weights";
  const auto sched_file = models::sd21_base_config("scheduler");
  sd->scheduler_config = sched::SchedulerConfig::from_json(sched_file.json(), sched_file.path().string());
  sd->default_scheduler = sched::scheduler_kind_from_class_name(sd->scheduler_config.class_name);
  sd->text = models::random_component<models::ClipTextModel>(
      models::ClipTextConfig::from_json(models::sd21_base_config("text_encoder")), "text_encoder", &ctx, dtype, seed);
  sd->unet = models::random_component<models::UNet2DConditionModel>(
      models::UNetConfig::from_json(models::sd21_base_config("unet")), "unet", &ctx, dtype, seed + 1);
  sd->vae = models::random_component<models::AutoencoderKL>(
      models::VaeConfig::from_json(models::sd21_base_config("vae")), "vae", &ctx, dtype, seed + 2);
  sd->check_consistency();
  return sd;
}

}  // namespace ezivk::pipeline
