#include "engine/pipeline/ezigen.h"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/prompt_context.h"
#include "engine/sched/scheduler.h"
#include "engine/pipeline/run_events.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

namespace {

using models::Graph;
using ops::Tensor;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void check_params(const EzigenParams& p, int64_t factor) {
  if (p.steps < 1 || p.steps > 1000) fail("steps must be from 1 to 1000, got " + std::to_string(p.steps));
  for (auto [name, g] : {std::pair{"guidance", p.guidance}, {"round guidance", p.round_guidance}})
    if (!std::isfinite(g) || g < 0 || g > 100)
      fail(std::string(name) + " must be a number from 0 to 100, got " + std::to_string(g));
  if (!(p.split > 0 && p.split < 1)) fail("--split must be in (0, 1), got " + std::to_string(p.split));
  if (p.subjects.empty()) fail("EZIGen needs at least one subject image");
  if (!std::isfinite(p.strength) || p.strength < 0 || p.strength > 10)
    fail("--subject-strength must be from 0 to 10, got " + std::to_string(p.strength));
  const auto& r = p.rounds;
  if (r.fixed && (*r.fixed < 0 || *r.fixed > 100)) fail("--rounds must be from 0 to 100, got " + std::to_string(*r.fixed));
  if (!r.fixed && (r.min_rounds < 1 || r.max_rounds < r.min_rounds || r.max_rounds > 100))
    fail("--min-rounds and --max-rounds must satisfy 1 <= min <= max <= 100, got " + std::to_string(r.min_rounds) +
         " and " + std::to_string(r.max_rounds));
  if (p.width < 0 || p.height < 0 || p.width % factor || p.height % factor || p.width > 8192 || p.height > 8192)
    fail("size " + std::to_string(p.width) + "x" + std::to_string(p.height) + " must be positive multiples of " +
         std::to_string(factor) + " up to 8192");
}

// A host copy of a device tensor for an event.
SnapshotPtr snapshot(const std::vector<int64_t>& shape, std::vector<float> values) {
  return std::make_shared<const Snapshot>(Snapshot{shape, std::move(values)});
}

}  // namespace

std::pair<int64_t, int64_t> block_grid(const models::UNetConfig& unet, const std::string& block, int64_t h, int64_t w) {
  const int levels = int(unet.levels());
  int level = 0;
  if (block.rfind("down_blocks.", 0) == 0) level = std::atoi(block.c_str() + 12);
  else if (block.rfind("mid_block", 0) == 0) level = levels - 1;
  else if (block.rfind("up_blocks.", 0) == 0) level = levels - 1 - std::atoi(block.c_str() + 10);
  else fail("not a transformer block name: '" + block + "'");
  for (int i = 0; i < level; ++i) {
    h = (h + 1) / 2;
    w = (w + 1) / 2;
  }
  return {h, w};
}

EzigenRound finish_round(StableDiffusion& sd, models::GraphRunner& runner, const Denoiser& den, int round,
                         const EncodedLatents& input, EncodedLatents& next, TorchGenerator& gen_b,
                         const RoundPolicy& policy, const RoundMeasure& measure,
                         std::chrono::steady_clock::time_point started, const EventSink& events) {
  EzigenRound rd;
  rd.round = round;
  rd.latent = den.download_latent();
  rd.image = decode_latents(sd, runner, den.latent()).images.at(0);
  next = encode_images(sd, runner, {rd.image}, gen_b);
  rd.similarity = measure ? measure(round, rd.image, next) : latent_similarity(input.mean, next.mean);
  const RoundDecision d = decide_after_round(policy, round, rd.similarity);
  rd.stop = d.stop;
  rd.reason = d.reason;
  rd.seconds = since(started);
  if (events) events(RoundDone{round, std::make_shared<const io::Image8>(rd.image), rd.similarity, rd.stop, rd.reason});
  return rd;
}

RoundMeasure round_measure(const RoundPolicy& policy, ClipImageEmbedder* clip, const std::function<double(int)>& scripted,
                           const io::Image8& first) {
  if (scripted) return [scripted](int round, const io::Image8&, const EncodedLatents&) { return scripted(round); };
  if (policy.similarity == "latent") return nullptr;
  if (policy.similarity != "clip") fail("--similarity must be latent or clip, got '" + policy.similarity + "'");
  if (!clip) fail("--similarity clip needs a CLIP image tower (--clip-model DIR)");
  auto previous = std::make_shared<std::vector<float>>(clip->embed(first));
  return [clip, previous](int, const io::Image8& image, const EncodedLatents&) {
    auto e = clip->embed(image);
    const double s = ClipImageEmbedder::cosine(*previous, e);
    *previous = std::move(e);
    return s;
  };
}

RoundDecision decide_after_round(const RoundPolicy& p, int round, std::optional<double> sim) {
  if (p.fixed) {
    if (round >= *p.fixed) return {true, "fixed count of " + std::to_string(*p.fixed) + " rounds"};
    return {false, ""};
  }
  if (round >= p.max_rounds) return {true, "reached --max-rounds " + std::to_string(p.max_rounds)};
  if (round >= p.min_rounds && sim && *sim >= p.threshold) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "similarity %.4f >= threshold %.4f", *sim, p.threshold);
    return {true, buf};
  }
  return {false, ""};
}

double default_similarity_threshold(const std::string& measure) {
  if (measure == "latent") return 0.985;
  if (measure == "clip") return 0.99;
  fail("--similarity must be latent or clip, got '" + measure + "'");
}

double latent_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) fail("latent similarity: the latents differ in size");
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= double(a.size());
  mb /= double(b.size());
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i] - ma, y = b[i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa == 0 || bb == 0) return aa == bb ? 1.0 : 0.0;
  return ab / std::sqrt(aa * bb);
}

EzigenResult ezigen_generate(StableDiffusion& sd, const EzigenWeights* weights, const EzigenParams& p,
                             const EventSink& events) {
  auto emit = [&](const Event& e) {
    if (events) events(e);
  };
  return reporting_failures(events, [&] {
    gpu::Context& ctx = *sd.ctx;
    const auto t_start = Clock::now();
    const int64_t factor = sd.vae.config.downsampling();
    check_params(p, factor);
    if (p.mode == SubjectMode::Adapter && (!weights || !weights->adapter))
      fail("EZIGen's adapter mode needs adapter weights (--adapter); without them choose --reference-attention");
    const int size = subject_size(sd);

    EzigenResult r;
    r.width = p.width ? p.width : size;
    r.height = p.height ? p.height : size;
    const int64_t h = r.height / factor, w = r.width / factor;
    const bool guided = p.guidance > 1.0, round_guided = p.round_guidance > 1.0;
    const int N = p.steps;
    const bool want_rounds = !p.rounds.fixed || *p.rounds.fixed > 0;

    sched::SchedulerConfig cfg = sd.scheduler_config;
    for (auto& o : p.scheduler_overrides) cfg.set_override(o);
    const sched::SchedulerKind kind = p.scheduler.value_or(sched::SchedulerKind::DDPM);
    auto scheduler = sched::make_scheduler(kind, cfg);
    scheduler->set_timesteps(N);
    if (scheduler->num_steps() != N)
      fail(std::string(sched::scheduler_kind_name(kind)) + " makes " + std::to_string(scheduler->num_steps()) +
           " UNet calls for " + std::to_string(N) + " steps; EZIGen's split needs one per step (use ddpm or ddim)");
    if (want_rounds && (scheduler->history_slots() > 0 || scheduler->init_noise_sigma() != 1.0))
      fail(std::string(sched::scheduler_kind_name(kind)) +
           " cannot start a round in the middle of its grid; transfer rounds need ddpm or ddim");
    r.scheduler = sched::scheduler_kind_name(kind);
    r.timesteps = scheduler->timesteps();
    // Both expressions in double, as written in the reference.
    r.switch_step = N;
    for (int i = 0; i < N; ++i)
      if ((1.0 - p.split) * N < double(i + 1)) {
        r.switch_step = i;
        break;
      }
    r.round_first_step = int(double(N) - p.split * double(N));
    r.t_round = int(p.split * double(cfg.num_train_timesteps));
    const int round_steps = N - r.round_first_step;
    const int max_rounds = p.rounds.fixed ? *p.rounds.fixed : p.rounds.max_rounds;
    RoundPolicy policy = p.rounds;
    if (!policy.fixed && policy.threshold == 0) policy.threshold = default_similarity_threshold(policy.similarity);
    if (policy.similarity == "clip" && !p.clip && !p.scripted_similarity)
      fail("--similarity clip needs a CLIP image tower (--clip-model DIR)");

    // Tokenize everything before the device does any work.
    (void)tokenize_prompt(sd, p.prompt, p.prompt_ids);
    if (guided) (void)tokenize_prompt(sd, p.negative, p.negative_ids);
    if (round_guided && want_rounds) (void)tokenize_prompt(sd, p.round_negative, p.round_negative_ids);
    for (const auto& s : p.subjects) (void)tokenize_prompt(sd, s.prompt, s.prompt_ids);

    RunStarted started{N, 1, r.width, r.height, guided, r.scheduler};
    started.round_steps = round_steps;
    started.max_rounds = max_rounds;
    emit(started);

    TorchGenerator gen_a(p.seed), gen_b(p.seed);
    models::GraphRunner runner(ctx, "ezigen");
  cancel_between_pieces(runner.recorder(), p.cancel);

    // --- 1. the subjects: bank, keys and values, hooks -------------------------------------------------------
    auto t0 = Clock::now();
    SubjectAttention subject(sd, weights, p.mode, p.strength, runner, p.subjects, p.t_subject, gen_b);
    r.bank_bytes = subject.bytes();
    r.subject_seconds = since(t0);
    emit(StageDone{"subject_encoding", r.subject_seconds});
    const models::UNet2DConditionModel& unet = subject.unet();
    const models::BlockHooks& on = subject.hooks();
    if (!p.capture_blocks.empty()) {
      if (p.capture_points.empty()) fail("attention capture: no image positions given");
      std::vector<SubjectAttention::CaptureSpec> specs;
      for (const auto& b : p.capture_blocks) {
        const auto [gh, gw] = block_grid(sd.unet.config, b, h, w);
        SubjectAttention::CaptureSpec c{b, {}, gh * gw};
        for (auto [x, y] : p.capture_points) {
          if (!(x >= 0 && x < 1 && y >= 0 && y < 1)) fail("attention capture: positions must lie in [0, 1)");
          c.query_ids.push_back(uint32_t(int64_t(y * float(gh)) * gw + int64_t(x * float(gw))));
        }
        specs.push_back(std::move(c));
      }
      subject.capture(ctx, specs, (guided || round_guided) ? 2 : 1);
    }
    // Before each step with the subject on: the head the capture shows now.
    auto follow_head = [&] {
      if (!p.capture_blocks.empty()) subject.set_capture_head(p.capture_head ? p.capture_head->load() : -1);
    };
    auto emit_captures = [&](int round, int step) {
      if (p.capture_blocks.empty()) return;
      for (auto& c : subject.download_captures(ctx)) {
        AttentionCaptured e{round, step, c.block, c.query_ids};
        e.head = c.head;
        e.probs = snapshot(c.probs_shape, std::move(c.probs));
        e.mass = snapshot({c.probs_shape[0], c.probs_shape[1]}, std::move(c.mass));
        emit(e);
      }
    };
    {
      PlanShape shape;
      shape.batch = 1;
      shape.unet_batch = (guided || round_guided) ? 2 : 1;
      shape.prompts = shape.unet_batch;
      shape.seq = prompt_sequence_length(sd);
      shape.h = h;
      shape.w = w;
      shape.encode_batch = 1;
      shape.hooks = &on;
      runner.reserve(plan_activations(ctx, sd.dtype, *sd.text.model, unet, *sd.vae.model, shape).peak());
    }
    r.activation_bytes = runner.activation_bytes();
    r.weight_bytes = sd.weight_bytes();
    r.adapter_bytes = weights && p.mode == SubjectMode::Adapter ? weights->device_bytes() : 0;

    const PromptContext first_ctx = encode_prompts(sd, runner, {p.prompt, p.negative, p.prompt_ids, p.negative_ids}, 1,
                                                   guided, events);
    const int64_t n = sd.unet.config.in_channels * h * w;
    const std::vector<int64_t> latent_shape{1, sd.unet.config.in_channels, h, w};
    auto decode = [&](const Tensor& latent) { return decode_latents(sd, runner, latent); };

    // --- 2. the first pass: sketch, then transfer -------------------------------------------------------------
    io::Image8 prev;
    if (p.start_image && p.from_sketch) fail("a start image and a kept sketch exclude each other");
    if (p.start_image) {
      if (p.start_image->width != r.width || p.start_image->height != r.height || p.start_image->channels != 3)
        fail("--start-image must be RGB " + std::to_string(r.width) + "x" + std::to_string(r.height));
      prev = *p.start_image;
    } else {
      t0 = Clock::now();
      Denoiser den(sd, *scheduler, 1, h, w, guided);
      r.state_bytes = den.state_bytes();
      if (!p.from_sketch) den.init_noise(gen_a);
      int64_t drawn = n;
      auto take_sketch = [&](bool after_step) {
        r.sketch_latent = den.download_latent();
        r.gen_a_values_at_split = drawn;
        ImagePtr x0_image;
        if (after_step) {
          r.sketch_x0_latent = den.download_x0();
          r.sketch_x0 = decode(den.x0()).images.at(0);
          x0_image = std::make_shared<const io::Image8>(*r.sketch_x0);
        }
        emit(SketchReady{snapshot(latent_shape, r.sketch_latent), x0_image, drawn});
      };
      int first_step = 0;
      if (p.from_sketch) {
        const auto& k = *p.from_sketch;
        if (scheduler->history_slots() > 0)
          fail(r.scheduler + " keeps a history of steps, so it cannot start at the split; re-running from a sketch needs ddpm or ddim");
        auto differs = [&](const std::string& what, const std::string& kept, const std::string& now) {
          if (kept != now)
            fail("re-running from a kept sketch needs the same " + what + " as the run that made it (" + kept + "), got " + now);
        };
        differs("seed", std::to_string(k.seed), std::to_string(p.seed));
        differs("steps", std::to_string(k.steps), std::to_string(N));
        differs("split", std::to_string(k.split), std::to_string(p.split));
        differs("scheduler", k.scheduler, r.scheduler);
        differs("size", std::to_string(k.width) + "x" + std::to_string(k.height), std::to_string(r.width) + "x" + std::to_string(r.height));
        if (int64_t(k.latent.size()) != n || k.gen_a_values < n || k.gen_a_values % n)
          fail("the kept sketch does not fit this model: " + std::to_string(k.latent.size()) + " latent values for " +
               std::to_string(n) + ", " + std::to_string(k.gen_a_values) + " generator values drawn");
        // Generator A replays the same draws (the same call sizes) the first run made up to the split.
        for (int64_t d = 0; d < k.gen_a_values; d += n) gen_a.randn(n);
        den.set_latent(k.latent);
        drawn = k.gen_a_values;
        first_step = r.switch_step;
        r.sketch_latent = k.latent;
        r.gen_a_values_at_split = drawn;
        emit(SketchReady{snapshot(latent_shape, r.sketch_latent), nullptr, drawn});
      } else if (r.switch_step == 0) {
        take_sketch(false);
      }
      DenoiseRange range;
      range.first = first_step;
      range.guidance = p.guidance;
      range.context = &first_ctx.context;
      range.unet = &unet;
      range.cancel = p.cancel;
      range.hooks = [&](int i) -> const models::BlockHooks* {
        if (i < r.switch_step) return nullptr;
        follow_head();
        return &on;
      };
      std::optional<DevicePreview> device_x0;
      if (p.preview_slot)
        range.after_step = [&](gpu::Recorder& rec, int) { device_x0 = record_preview_copy(rec, den.x0(), p.preview_slot); };
      range.on_step = [&](int i, double seconds) {
        if (scheduler->needs_noise(i)) drawn += n;
        StepDone e{i, N, r.timesteps[size_t(i)], seconds, i < r.switch_step ? Phase::Sketch : Phase::Transfer, 0};
        e.x0_device = device_x0;
        if (p.preview_x0) e.x0 = snapshot(latent_shape, den.download_x0()), e.latent = snapshot(latent_shape, den.download_latent());
        emit(e);
        if (i >= r.switch_step) emit_captures(0, i);
        if (i + 1 == r.switch_step) take_sketch(true);
      };
      den.run(runner, gen_a, range);
      r.first_latent = den.download_latent();
      prev = decode(den.latent()).images.at(0);
      r.first = prev;
      r.first_pass_seconds = since(t0);
      emit(StageDone{"first_pass", r.first_pass_seconds});
      emit(RoundDone{0, std::make_shared<const io::Image8>(prev), std::nullopt, !want_rounds,
                     want_rounds ? "" : "no rounds asked for"});
    }

    // --- 3. rounds --------------------------------------------------------------------------------------------
    if (want_rounds) {
      const PromptContext round_ctx = encode_prompts(
          sd, runner, {p.prompt, p.round_negative, p.prompt_ids, p.round_negative_ids}, 1, round_guided, events);
      Denoiser den(sd, *scheduler, 1, h, w, round_guided);
      r.state_bytes = std::max(r.state_bytes, den.state_bytes());
      const auto nc = sched::make_scheduler(sched::SchedulerKind::DDPM, cfg)->add_noise_coefficients(float(r.t_round));
      EncodedLatents enc = encode_images(sd, runner, {prev}, gen_b);
      const RoundMeasure measure = round_measure(policy, p.clip, p.scripted_similarity, prev);
      for (int round = 1;; ++round) {
        throw_if_cancelled(p.cancel);
        t0 = Clock::now();
        const auto noise = gen_b.randn(n);
        std::vector<float> x(static_cast<size_t>(n));
        for (size_t i = 0; i < x.size(); ++i) x[i] = float(nc.x0 * enc.latent[i] + nc.noise * noise[i]);
        den.set_latent(x);
        DenoiseRange range;
        range.first = r.round_first_step;
        range.guidance = p.round_guidance;
        range.context = &round_ctx.context;
        range.unet = &unet;
        range.cancel = p.cancel;
        range.hooks = [&](int) {
          follow_head();
          return &on;
        };
        std::optional<DevicePreview> device_x0;
        if (p.preview_slot)
          range.after_step = [&](gpu::Recorder& rec, int) { device_x0 = record_preview_copy(rec, den.x0(), p.preview_slot); };
        range.on_step = [&](int i, double seconds) {
          StepDone e{i, N, r.timesteps[size_t(i)], seconds, Phase::Round, round};
          e.x0_device = device_x0;
          if (p.preview_x0) e.x0 = snapshot(latent_shape, den.download_x0()), e.latent = snapshot(latent_shape, den.download_latent());
          emit(e);
          emit_captures(round, i);
        };
        den.run(runner, gen_a, range);
        EncodedLatents next;
        EzigenRound rd = finish_round(sd, runner, den, round, enc, next, gen_b, policy, measure, t0, events);
        const bool stop = rd.stop;
        prev = rd.image;
        r.rounds.push_back(std::move(rd));
        enc = std::move(next);
        if (stop) break;
      }
    }
    r.image = prev;

    // --- the text-only image of the same seed, for comparison --------------------------------------------------
    if (p.baseline) {
      t0 = Clock::now();
      TorchGenerator gen(p.seed);
      Denoiser den(sd, *scheduler, 1, h, w, guided);
      den.init_noise(gen);
      DenoiseRange range;
      range.guidance = p.guidance;
      range.context = &first_ctx.context;
      range.cancel = p.cancel;
      den.run(runner, gen, range);
      r.baseline = decode(den.latent()).images.at(0);
      r.baseline_seconds = since(t0);
      emit(StageDone{"baseline", r.baseline_seconds});
    }
    r.state_bytes += first_ctx.arena.capacity();
    r.total_seconds = since(t_start);
    emit(Finished{r.total_seconds});
    return r;
  });
}

}  // namespace ezivk::pipeline
