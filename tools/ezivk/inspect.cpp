// `ezivk inspect MODEL_DIR`: what a diffusers folder holds and what it will cost on the device. Every tensor name and
// shape is checked against the architecture the configs describe (without reading the weights), so a broken or
// mismatched folder fails here with the same error a run would give.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/util/error.h"
#include "engine/io/json_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/clip_tokenizer.h"
#include "engine/models/component.h"
#include "engine/models/unet2d_condition.h"
#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/adapter_checkpoint.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/sched/scheduler_config.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {

namespace {


const char* kUsage =
    "usage: ezivk inspect MODEL_DIR [--size WxH] [--batch N] [--precision fp16|fp32] [--variant fp16] [--check-weights]\n"
    "                               [--json]\n"
    "       ezivk inspect CHECKPOINT [--json]   (an EZIGen checkpoint: its adapters and learnable weights)\n"
    "  Checks a diffusers Stable Diffusion folder against the architecture its configs describe and prints the\n"
    "  detected family, parameter counts, stored dtypes and the device memory a text-to-image run needs.\n"
    "  --size WxH       image size for the memory plan (default: the UNet's sample_size x 8)\n"
    "  --batch N        images per run for the memory plan (default 1; guidance doubles the UNet batch)\n"
    "  --precision P    compute precision of weights and activations (default fp16)\n"
    "  --variant fp16   prefer the *.fp16.safetensors weight files\n"
    "  --check-weights  read every weight and name the first NaN or infinity (slow on big models)\n"
    "  --json           one JSON document instead of text\n";

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

nlohmann::json report_json(const models::ComponentReport& r) {
  return {{"files", r.files}, {"parameters", r.parameters}, {"tensors", r.tensors}, {"device_bytes", r.device_bytes},
          {"stored_bytes", r.stored_bytes}, {"unused_tensors", r.unused}};
}

std::string stored_text(const models::ComponentReport& r) {
  std::string s;
  for (auto& [dt, bytes] : r.stored_bytes) s += (s.empty() ? "" : ", ") + dt + " " + gpu::format_bytes(bytes);
  return s;
}

}  // namespace

int inspect(const std::vector<std::string>& args) {
  std::string dir, variant;
  int64_t width = 0, height = 0, batch = 1;
  ops::DType dtype = ops::DType::F16;
  bool json = false, check_weights = false;
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--check-weights") {
      check_weights = true;
    } else if (a == "--size") {
      parse_size(option_value(args, i), width, height);
    } else if (a == "--batch") {
      batch = parse_int(option_value(args, i), "--batch", 1, 64);
    } else if (a == "--precision") {
      dtype = parse_precision(option_value(args, i));
    } else if (a == "--variant") {
      variant = option_value(args, i);
      if (variant != "fp16") throw UsageError("--variant must be fp16, got '" + variant + "'");
    } else if (!a.empty() && a[0] == '-') {
      throw UsageError("unknown option '" + a + "'");
    } else if (dir.empty()) {
      dir = a;
    } else {
      throw UsageError("one MODEL_DIR expected, got '" + dir + "' and '" + a + "'");
    }
  }
  if (dir.empty()) throw UsageError("missing MODEL_DIR\n" + std::string(kUsage));
  // An EZIGen checkpoint (a file, or a folder with model.safetensors / pytorch_model.bin and no model_index.json).
  {
    const std::filesystem::path p(dir);
    const bool folder_ck = std::filesystem::is_directory(p) && !std::filesystem::exists(p / "model_index.json") &&
                           !std::filesystem::exists(p / "unet") &&
                           (std::filesystem::exists(p / "model.safetensors") ||
                            std::filesystem::exists(p / "pytorch_model.bin"));
    if (std::filesystem::is_regular_file(p) || folder_ck) {
      print_adapter_summary(pipeline::summarize_adapter_checkpoint(p), json);
      return 0;
    }
  }

  const models::ModelFolder folder(dir, variant);
  // The device decides the precision before anything is loaded, as generate does (EZIVK_FORCE_FP32 or a device
  // without fp16 plans in f32 over f16 files).
  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  if (dtype == ops::DType::F16 && !ctx.fp16()) dtype = ops::DType::F32;
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", nullptr, dtype);
  auto vae = models::load_component<models::AutoencoderKL, models::VaeConfig>(folder, "vae", nullptr, dtype);
  auto text = models::load_component<models::ClipTextModel, models::ClipTextConfig>(folder, "text_encoder", nullptr, dtype);
  const auto tok = models::ClipTokenizer::from_folder(folder.tokenizer_dir());
  const io::JsonFile sched(folder.config("scheduler"));
  // The same validation generate runs: the scheduler settings, and the parts fitting together.
  const auto sched_config = sched::SchedulerConfig::from_json(sched.json(), sched.path().string());
  const auto sched_kind = sched::scheduler_kind_from_class_name(sched_config.class_name);
  const std::string sched_text = sched_kind ? sched_config.class_name
                                            : sched_config.class_name + " (not supported: generate needs --scheduler)";
  pipeline::check_model_consistency(dir, text.config, unet.config, vae.config, &tok);
  if (check_weights)
    for (const char* component : {"unet", "vae", "text_encoder"})
      for (const auto& file : folder.weights(component))
        if (const auto bad = io::find_non_finite(io::SafetensorsFile(file)))
          throw Error(file.string() + ": tensor '" + bad->tensor + "' holds " + (std::isnan(bad->value) ? "NaN" : "an infinity") +
                      " at element " + std::to_string(bad->index) + "; the weights are damaged");

  const auto& uc = unet.config;
  const std::string prediction = sched.string("prediction_type", "epsilon");
  std::string family = uc.cross_attention_dim == 1024 ? "Stable Diffusion 2.x"
                       : uc.cross_attention_dim == 768 ? "Stable Diffusion 1.x"
                                                       : "Stable Diffusion-style";
  family += prediction == "v_prediction" ? " (v-prediction)" : " (" + prediction + " prediction)";
  const int64_t vf = vae.config.downsampling();
  if (width == 0) width = height = uc.sample_size * vf;
  if (width % vf || height % vf)
    throw UsageError("--size must be a multiple of " + std::to_string(vf) + " in both directions for this VAE");

  // Activation peaks from planning runs of each forward at the requested size (nothing is allocated).
  // The text encoder runs once on [negative, prompt]; the UNet on 2·batch items (guidance).
  pipeline::PlanShape shape;
  shape.batch = batch;
  shape.unet_batch = 2 * batch;
  shape.seq = tok.max_length();
  shape.h = height / vf;
  shape.w = width / vf;
  const int64_t largest = pipeline::largest_square_size(ctx, dtype, *text.model, *unet.model, *vae.model, shape);
  const auto plan = pipeline::plan_activations(ctx, dtype, *text.model, *unet.model, *vae.model, shape);
  const auto& tiling = plan.decode_tiling;
  const uint64_t unet_act = plan.unet, text_act = plan.text, vae_act = plan.vae_decode;
  const uint64_t weights = unet.report.device_bytes + vae.report.device_bytes + text.report.device_bytes;
  const uint64_t act = plan.peak();

  if (json) {
    nlohmann::json j = {{"model", dir},
                        {"pipeline_class", folder.pipeline_class()},
                        {"family", family},
                        {"prediction_type", prediction},
                        {"scheduler", sched_config.class_name},
                        {"scheduler_supported", sched_kind.has_value()},
                        {"unet", report_json(unet.report)},
                        {"vae", report_json(vae.report)},
                        {"text_encoder", report_json(text.report)},
                        {"tokenizer", {{"vocab_size", tok.vocab_size()}, {"pad_id", tok.pad()}, {"max_length", tok.max_length()}}},
                        {"weights_finite", check_weights ? nlohmann::json(true) : nlohmann::json()},
                        {"plan", {{"width", width}, {"height", height}, {"batch", batch}, {"precision", ops::dtype_name(dtype)},
                                  {"weights_bytes", weights}, {"unet_activation_bytes", unet_act},
                                  {"text_activation_bytes", text_act}, {"vae_decode_activation_bytes", vae_act},
                                  {"peak_bytes", weights + act}, {"vae_decode_tiles", tiling.rows.size() * tiling.cols.size()}}},
                        {"limits", {{"storage_buffer_range", ctx.caps().max_storage_buffer_range},
                                    {"largest_square_size", largest}}}};
    std::puts(j.dump(2).c_str());
    return 0;
  }
  std::printf("model:         %s%s\n", dir.c_str(),
              folder.pipeline_class().empty() ? "" : (" (" + folder.pipeline_class() + ")").c_str());
  std::printf("architecture:  %s, scheduler %s\n", family.c_str(), sched_text.c_str());
  std::string heads;
  for (size_t i = 0; i < uc.levels(); ++i)
    heads += (i ? ", " : "") + std::to_string(uc.heads[i]) + "x" + std::to_string(uc.block_out_channels[i] / uc.heads[i]);
  std::printf("unet:          %s params in %s tensors (%s); %zu levels, heads x width [%s], cross-attention %lld, %s projections\n",
              with_commas(unet.report.parameters).c_str(), with_commas(unet.report.tensors).c_str(),
              stored_text(unet.report).c_str(), uc.levels(), heads.c_str(), (long long)uc.cross_attention_dim,
              uc.use_linear_projection ? "linear" : "1x1-conv");
  std::printf("vae:           %s params in %s tensors (%s); %lldx downsampling, %lld latent channels, scaling %g\n",
              with_commas(vae.report.parameters).c_str(), with_commas(vae.report.tensors).c_str(),
              stored_text(vae.report).c_str(), (long long)vf, (long long)vae.config.latent_channels,
              vae.config.scaling_factor);
  if (check_weights) std::printf("weights:       every value finite\n");
  std::printf("text_encoder:  %s params in %s tensors (%s); %lld layers, width %lld, %lld heads, %s\n",
              with_commas(text.report.parameters).c_str(), with_commas(text.report.tensors).c_str(),
              stored_text(text.report).c_str(), (long long)text.config.num_hidden_layers,
              (long long)text.config.hidden_size, (long long)text.config.num_attention_heads,
              ops::activation_name(text.config.hidden_act));
  std::printf("tokenizer:     %d tokens, pad '%s' (id %d), %d positions\n", tok.vocab_size(), tok.piece(tok.pad()).c_str(),
              tok.pad(), tok.max_length());
  for (auto* r : {&unet.report, &vae.report, &text.report})
    if (!r->unused.empty())
      std::printf("note:          %s has %zu tensors the model does not use (first: %s)\n", r->name.c_str(),
                  r->unused.size(), r->unused.front().c_str());
  std::printf("device memory for %lldx%lld, batch %lld with guidance, %s on %s:\n", (long long)width, (long long)height,
              (long long)batch, ops::dtype_name(dtype), ctx.caps().name.c_str());
  std::printf("  weights      %s (unet %s, vae %s, text encoder %s)\n", gpu::format_bytes(weights).c_str(),
              gpu::format_bytes(unet.report.device_bytes).c_str(), gpu::format_bytes(vae.report.device_bytes).c_str(),
              gpu::format_bytes(text.report.device_bytes).c_str());
  std::printf("  activations  %s at the peak (unet %s, text encoder %s, vae decode %s; one arena is reused)\n",
              gpu::format_bytes(act).c_str(), gpu::format_bytes(unet_act).c_str(), gpu::format_bytes(text_act).c_str(),
              gpu::format_bytes(vae_act).c_str());
  std::printf("  total        %s\n", gpu::format_bytes(weights + act).c_str());
  if (tiling.tiled)
    std::printf("  the VAE decodes each image in %zu tiles of %lldx%lld latent pixels at this size\n",
                tiling.rows.size() * tiling.cols.size(), (long long)tiling.tile_w, (long long)tiling.tile_h);
  std::printf("largest size:  %lldx%lld with batch %lld and guidance in %s (this device's storage-buffer range is %s)\n",
              (long long)largest, (long long)largest, (long long)batch, ops::dtype_name(dtype),
              gpu::format_bytes(ctx.caps().max_storage_buffer_range).c_str());
  return 0;
}

}  // namespace ezivk::cli
