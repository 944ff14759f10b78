#include "engine/pipeline/text_to_image.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "engine/util/error.h"
#include "engine/models/graph_runner.h"
#include "engine/ops/sched_step.h"
#include "engine/pipeline/activation_plan.h"
#include "engine/sched/scheduler.h"
#include "engine/util/torch_randn.h"

namespace ezivk::pipeline {

namespace {

using models::Act;
using models::Graph;
using ops::DType;
using ops::Tensor;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Persistent buffers of one run, carved from one arena.
struct RunState {
  gpu::Arena arena;
  Tensor ids, context, x, x0, noise, history, unet_in, z;
};

uint64_t aligned(uint64_t b) { return (b + 255) / 256 * 256; }

void check_params(const StableDiffusion& sd, const TextToImageParams& p, int64_t factor) {
  if (p.steps < 1 || p.steps > 1000) fail("steps must be from 1 to 1000, got " + std::to_string(p.steps));
  if (!std::isfinite(p.guidance) || p.guidance < 0 || p.guidance > 100)
    fail("guidance must be a number from 0 to 100, got " + std::to_string(p.guidance));
  if (p.batch < 1 || p.batch > 64) fail("batch must be from 1 to 64, got " + std::to_string(p.batch));
  if (p.width < 0 || p.height < 0 || p.width % factor || p.height % factor || p.width > 8192 || p.height > 8192)
    fail("size " + std::to_string(p.width) + "x" + std::to_string(p.height) + " must be positive multiples of " +
         std::to_string(factor) + " (the VAE's downsampling) up to 8192");
  if (!sd.tokenizer && (!p.prompt_ids || (p.guidance > 1 && !p.negative_ids)))
    fail(sd.source + " has no tokenizer: prompts must be given as token ids");
}

models::TokenizedPrompt tokens_for(const StableDiffusion& sd, const std::string& text,
                                   const std::optional<std::vector<int32_t>>& ids) {
  const int64_t len = sd.text.config.max_position_embeddings;
  models::TokenizedPrompt t;
  if (ids) {
    if (int64_t(ids->size()) != (sd.tokenizer ? sd.tokenizer->max_length() : len))
      fail("token ids must number " + std::to_string(sd.tokenizer ? sd.tokenizer->max_length() : len) + ", got " +
           std::to_string(ids->size()));
    t.ids = *ids;
    t.length = int32_t(ids->size());
  } else {
    t = sd.tokenizer->encode(text);
  }
  for (auto id : t.ids)
    if (id < 0 || id >= sd.text.config.vocab_size)
      fail("token id " + std::to_string(id) + " is outside the text encoder's vocabulary of " +
           std::to_string(sd.text.config.vocab_size));
  return t;
}

}  // namespace

TextToImageResult text_to_image(StableDiffusion& sd, const TextToImageParams& p, const EventSink& events) {
  auto emit = [&](const Event& e) {
    if (events) events(e);
  };
  try {
    gpu::Context& ctx = *sd.ctx;
    const auto t_start = Clock::now();
    const auto& uc = sd.unet.config;
    const int64_t factor = sd.vae.config.downsampling();
    check_params(sd, p, factor);

    TextToImageResult r;
    r.width = p.width ? p.width : uc.sample_size * factor;
    r.height = p.height ? p.height : uc.sample_size * factor;
    r.guided = p.guidance > 1.0;

    sched::SchedulerConfig cfg = sd.scheduler_config;
    for (auto& o : p.scheduler_overrides) cfg.set_override(o);
    const sched::SchedulerKind kind = p.scheduler ? *p.scheduler
                                      : sd.default_scheduler ? *sd.default_scheduler
                                                             : sched::SchedulerKind::PNDM;
    auto scheduler = sched::make_scheduler(kind, cfg);
    scheduler->set_timesteps(p.steps);
    r.scheduler = sched::scheduler_kind_name(kind);
    r.timesteps = scheduler->timesteps();
    const int steps = scheduler->num_steps();

    const int64_t B = p.batch, UB = r.guided ? 2 * B : B, h = r.height / factor, w = r.width / factor;
    const int64_t lc = uc.in_channels, n = B * lc * h * w;
    const int64_t seq = sd.tokenizer ? sd.tokenizer->max_length() : sd.text.config.max_position_embeddings;
    const int64_t hidden = sd.text.config.hidden_size, prompts = r.guided ? 2 : 1;
    const int slots = scheduler->history_slots();
    r.latent_shape = {B, lc, h, w};
    emit(RunStarted{steps, int(B), r.width, r.height, r.guided, r.scheduler});

    r.prompt_tokens = tokens_for(sd, p.prompt, p.prompt_ids);
    if (r.guided) r.negative_tokens = tokens_for(sd, p.negative_prompt, p.negative_ids);
    for (auto* t : {&r.prompt_tokens, &r.negative_tokens})
      if (t->truncated)
        emit(Notice{std::string(t == &r.prompt_tokens ? "prompt" : "negative prompt") + " is longer than " +
                    std::to_string(seq - 2) + " tokens; " + std::to_string(t->dropped) + " were dropped"});

    // --- persistent state ----------------------------------------------------------------------------------
    const uint64_t ab = ops::dtype_bytes(sd.dtype);
    const uint64_t coef_bytes = aligned(ops::kStepCoefficientFloats * 4);
    const uint64_t state_bytes = aligned(prompts * seq * 4) + aligned(UB * seq * hidden * ab) + 3 * aligned(n * 4) +
                                 aligned(std::max(slots, 1) * n * 4) + aligned(UB * lc * h * w * ab) +
                                 steps * (coef_bytes + aligned(UB * 4)) + aligned(n * ab) + 256 * 12;
    RunState s{gpu::Arena(ctx, "text-to-image state", state_bytes, gpu::MemoryUse::Device)};
    auto make = [&](std::vector<int64_t> shape, DType dt) {
      Tensor t{{}, dt, std::move(shape)};
      t.data = s.arena.alloc(std::max<uint64_t>(t.bytes(), 4), 256);
      return t;
    };
    s.ids = make({prompts * seq}, DType::F32);  // uint32 ids; the dtype is nominal
    s.context = make({UB, seq, hidden}, sd.dtype);
    s.x = make({B, lc, h, w}, DType::F32);
    s.x0 = make({B, lc, h, w}, DType::F32);
    s.noise = make({B, lc, h, w}, DType::F32);
    s.history = make({std::max(slots, 1), B, lc, h, w}, DType::F32);
    s.unet_in = make({UB, lc, h, w}, sd.dtype);
    s.z = make({B, lc, h, w}, sd.dtype);
    // Per step: the coefficient block and the UNet's timesteps, each at an aligned offset (bound on their own).
    std::vector<Tensor> coefs, step_ts;
    for (int i = 0; i < steps; ++i) {
      coefs.push_back(make({int64_t(ops::kStepCoefficientFloats)}, DType::F32));
      step_ts.push_back(make({UB}, DType::F32));
    }
    r.state_bytes = s.arena.capacity();
    r.weight_bytes = sd.weight_bytes();

    models::GraphRunner runner(ctx, "text-to-image", p.profile);
    std::map<std::string, TextToImageResult::OpTime> op_times;
    // One activation arena for the largest of the three models.
    runner.reserve(plan_activations(ctx, sd.dtype, *sd.text.model, *sd.unet.model, *sd.vae.model, B, UB, prompts, seq, h, w)
                       .peak());
    r.activation_bytes = runner.activation_bytes();

    // --- text encoder: [uncond, cond] once, then repeated per image ---------------------------------------
    auto t0 = Clock::now();
    {
      std::vector<uint32_t> ids;
      if (r.guided) ids.insert(ids.end(), r.negative_tokens.ids.begin(), r.negative_tokens.ids.end());
      ids.insert(ids.end(), r.prompt_tokens.ids.begin(), r.prompt_tokens.ids.end());
      ctx.upload(s.ids.data, ids.data(), ids.size() * 4);
      const Tensor out = runner.record(sd.dtype, [&](Graph& g) { return sd.text.model->forward(g, s.ids.data, prompts, seq); });
      const uint64_t row = uint64_t(seq * hidden) * ab;
      for (int64_t u = 0; u < UB; ++u) {
        const int64_t src = r.guided ? (u < B ? 0 : 1) : 0;
        runner.recorder().copy(out.data.sub(src * row, row), s.context.data.sub(u * row, row), row);
      }
      runner.recorder().submit_and_wait();
    }
    r.text_seconds = since(t0);
    emit(StageDone{"text_encoder", r.text_seconds});

    // --- noise, coefficients, timesteps ---------------------------------------------------------------------
    TorchGenerator gen(p.seed);
    {
      auto x = gen.randn(n);
      const float sigma = float(scheduler->init_noise_sigma());
      for (auto& v : x) v *= sigma;
      ctx.upload(s.x.data, x.data(), x.size() * 4);
      for (int i = 0; i < steps; ++i) {
        const auto c = sched::pack_step_coefficients(scheduler->step_coefficients(i));
        ctx.upload(coefs[size_t(i)].data, c.data(), c.size() * 4);
        const std::vector<float> ts(size_t(UB), r.timesteps[size_t(i)]);
        ctx.upload(step_ts[size_t(i)].data, ts.data(), ts.size() * 4);
      }
    }

    // --- the denoising loop ---------------------------------------------------------------------------------
    runner.recorder().fill(s.history.data, 0);  // recorded into the first step's command buffer
    std::vector<float> x0_host;
    for (int i = 0; i < steps; ++i) {
      t0 = Clock::now();
      gpu::Recorder& rec = runner.recorder();
      ops::sched_model_input(ctx, rec, s.x, s.unet_in, float(scheduler->model_input_scale(i)));
      const Tensor& ts = step_ts[size_t(i)];
      const Tensor eps = runner.record(sd.dtype, [&](Graph& g) { return sd.unet.model->forward(g, s.unet_in, ts, s.context); });
      ops::SchedStepArgs a;
      a.x = s.x;
      a.model_out = eps;
      a.guided = r.guided;
      a.guidance = float(p.guidance);
      if (scheduler->needs_noise(i)) {
        const auto z = gen.randn(n);  // drawn when diffusers draws it, so the stream matches step for step
        ctx.upload(s.noise.data, z.data(), z.size() * 4);
        a.noise = s.noise;
      }
      if (slots) a.history = Tensor{s.history.data, DType::F32, {slots, n}};
      a.x0 = s.x0;
      a.coefficients = coefs[size_t(i)];
      ops::sched_step(ctx, rec, a);
      rec.submit_and_wait();
      for (const auto& t : rec.timings()) {
        auto& o = op_times[t.label];
        o.op = t.label;
        o.ms += t.ms;
        ++o.dispatches;
      }
      if (p.preview_x0) {
        x0_host.resize(size_t(n));
        ctx.download(s.x0.data, x0_host.data(), x0_host.size() * 4);
      }
      r.step_seconds.push_back(since(t0));
      emit(StepDone{i, steps, r.timesteps[size_t(i)], r.step_seconds.back(), p.preview_x0 ? &x0_host : nullptr});
    }
    for (auto& [name, t] : op_times) r.profile.push_back(t);
    std::sort(r.profile.begin(), r.profile.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
    r.latent.resize(size_t(n));
    ctx.download(s.x.data, r.latent.data(), r.latent.size() * 4);

    // --- decode ---------------------------------------------------------------------------------------------
    t0 = Clock::now();
    ops::sched_model_input(ctx, runner.recorder(), s.x, s.z, float(1.0 / sd.vae.config.scaling_factor));
    const Tensor img = runner.run(sd.dtype, [&](Graph& g) { return sd.vae.model->decode(g, s.z); });
    r.decoded = models::download_floats(ctx, img);
    const int64_t H = img.dim(2), W = img.dim(3), C = img.dim(1);
    for (int64_t b = 0; b < B; ++b)
      r.images.push_back(io::latent_image_to_rgb8(r.decoded.data() + b * C * H * W, int(C), int(H), int(W)));
    r.decode_seconds = since(t0);
    emit(StageDone{"vae_decode", r.decode_seconds});
    r.total_seconds = since(t_start);
    emit(Finished{r.total_seconds});
    return r;
  } catch (const std::exception& e) {
    emit(Failed{e.what()});
    throw;
  }
}

}  // namespace ezivk::pipeline
