#include "engine/pipeline/text_to_image.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/prompt_context.h"
#include "engine/pipeline/vae_codec.h"
#include "engine/pipeline/run_events.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void check_params(const TextToImageParams& p, int64_t factor) {
  if (p.steps < 1 || p.steps > 1000) fail("steps must be from 1 to 1000, got " + std::to_string(p.steps));
  if (!std::isfinite(p.guidance) || p.guidance < 0 || p.guidance > 100)
    fail("guidance must be a number from 0 to 100, got " + std::to_string(p.guidance));
  if (p.batch < 1 || p.batch > 64) fail("batch must be from 1 to 64, got " + std::to_string(p.batch));
  if (p.width < 0 || p.height < 0 || p.width % factor || p.height % factor || p.width > 8192 || p.height > 8192)
    fail("size " + std::to_string(p.width) + "x" + std::to_string(p.height) + " must be positive multiples of " +
         std::to_string(factor) + " (the VAE's downsampling) up to 8192");
}

}  // namespace

TextToImageResult text_to_image(StableDiffusion& sd, const TextToImageParams& p, const EventSink& events) {
  auto emit = [&](const Event& e) {
    if (events) events(e);
  };
  return reporting_failures(events, [&] {
    const auto t_start = Clock::now();
    const auto& uc = sd.unet.config;
    const int64_t factor = sd.vae.config.downsampling();
    check_params(p, factor);

    TextToImageResult r;
    r.width = p.width ? p.width : uc.sample_size * factor;
    r.height = p.height ? p.height : uc.sample_size * factor;
    r.guided = p.guidance > 1.0;

    sched::SchedulerConfig cfg = sd.scheduler_config;
    for (auto& o : p.scheduler_overrides) cfg.set_override(o);
    const sched::SchedulerKind kind = p.scheduler ? *p.scheduler : folder_scheduler(sd.scheduler_config);
    auto scheduler = sched::make_scheduler(kind, cfg);
    scheduler->set_timesteps(p.steps);
    r.scheduler = sched::scheduler_kind_name(kind);
    r.timesteps = scheduler->timesteps();
    const int steps = scheduler->num_steps();

    const int64_t B = p.batch, h = r.height / factor, w = r.width / factor;
    const PromptPair prompts{p.prompt, p.negative_prompt, p.prompt_ids, p.negative_ids};
    // Tokenize before anything is allocated: bad ids or a missing tokenizer fail in microseconds.
    (void)tokenize_prompt(sd, p.prompt, p.prompt_ids);
    if (r.guided) (void)tokenize_prompt(sd, p.negative_prompt, p.negative_ids);
    emit(RunStarted{steps, int(B), r.width, r.height, r.guided, r.scheduler});

    models::GraphRunner runner(*sd.ctx, "text-to-image", p.profile);
    cancel_between_pieces(runner.recorder(), p.cancel);
    PlanShape shape;
    shape.batch = B;
    shape.unet_batch = r.guided ? 2 * B : B;
    shape.prompts = r.guided ? 2 : 1;
    shape.seq = prompt_sequence_length(sd);
    shape.h = h;
    shape.w = w;
    // One activation arena for the largest of the three models.
    runner.reserve(plan_activations(*sd.ctx, sd.dtype, *sd.text.model, *sd.unet.model, *sd.vae.model, shape).peak());
    r.activation_bytes = runner.activation_bytes();
    r.weight_bytes = sd.weight_bytes();

    auto t0 = Clock::now();
    const PromptContext pc = encode_prompts(sd, runner, prompts, B, r.guided, events);
    r.prompt_tokens = pc.prompt_tokens;
    r.negative_tokens = pc.negative_tokens;
    r.text_seconds = since(t0);
    emit(StageDone{"text_encoder", r.text_seconds});

    Denoiser den(sd, *scheduler, B, h, w, r.guided, p.profile);
    r.state_bytes = pc.arena.capacity() + den.state_bytes();
    r.latent_shape = den.shape();
    TorchGenerator gen(p.seed);
    den.init_noise(gen);
    DenoiseRange range;
    range.guidance = p.guidance;
    range.context = &pc.context;
    range.cancel = p.cancel;
    std::optional<DevicePreview> device_x0;
    if (p.preview_slot)
      range.after_step = [&](gpu::Recorder& rec, int) { device_x0 = record_preview_copy(rec, den.x0(), p.preview_slot); };
    range.on_step = [&](int i, double seconds) {
      r.step_seconds.push_back(seconds);
      StepDone e{i, steps, r.timesteps[size_t(i)], seconds};
      e.x0_device = device_x0;
      if (p.preview_x0) {
        e.x0 = std::make_shared<const Snapshot>(Snapshot{r.latent_shape, den.download_x0()});
        e.latent = std::make_shared<const Snapshot>(Snapshot{r.latent_shape, den.download_latent()});
      }
      emit(e);
    };
    den.run(runner, gen, range);
    r.profile = den.profile();
    r.latent = den.download_latent();

    t0 = Clock::now();
    auto decoded = decode_latents(sd, runner, den.latent());
    r.images = std::move(decoded.images);
    r.decoded = std::move(decoded.raw);
    r.decode_tiles = decoded.tiles;
    r.decode_seconds = since(t0);
    emit(StageDone{"vae_decode", r.decode_seconds});
    r.total_seconds = since(t_start);
    emit(Finished{r.total_seconds});
    return r;
  });
}

}  // namespace ezivk::pipeline
