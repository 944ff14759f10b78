#include "engine/pipeline/ezigen_edit.h"

#include <chrono>
#include <cmath>

#include "engine/io/resize.h"
#include "engine/ops/latent_blend.h"
#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/denoise.h"
#include "engine/pipeline/prompt_context.h"
#include "engine/pipeline/vae_codec.h"
#include "engine/sched/scheduler.h"
#include "engine/pipeline/run_events.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

namespace {

using ops::Tensor;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct EditGeometry {
  int resized_w = 0, resized_h = 0;  // short side = size
  int crop_x = 0, crop_y = 0, w = 0, h = 0;
};

EditGeometry edit_geometry(int src_w, int src_h, int size, int multiple) {
  if (src_w < 1 || src_h < 1) fail("edit source: the image is empty");
  if (size < multiple) fail("edit source: the model size " + std::to_string(size) + " is below " + std::to_string(multiple));
  EditGeometry g;
  const bool wide = src_w >= src_h;
  const int shorter = wide ? src_h : src_w, longer = wide ? src_w : src_h;
  const int long_out = int(double(longer) * size / shorter + 0.5);
  if (long_out > 8192) fail("edit source: " + std::to_string(src_w) + "x" + std::to_string(src_h) +
                            " is too elongated (the long side would be " + std::to_string(long_out) + " pixels)");
  g.resized_w = wide ? long_out : size;
  g.resized_h = wide ? size : long_out;
  g.w = g.resized_w - g.resized_w % multiple;
  g.h = g.resized_h - g.resized_h % multiple;
  g.crop_x = (g.resized_w - g.w) / 2;
  g.crop_y = (g.resized_h - g.h) / 2;
  return g;
}

}  // namespace

io::Image8 prepare_edit_source(const io::Image8& source, int size, int multiple, std::string* how) {
  const EditGeometry g = edit_geometry(source.width, source.height, size, multiple);
  const io::Image8 r = io::resize_bilinear(io::to_rgb(source), g.resized_w, g.resized_h);
  io::Image8 out{g.w, g.h, 3, {}};
  for (int y = 0; y < g.h; ++y) {
    const uint8_t* row = &r.pixels[(size_t(y + g.crop_y) * size_t(r.width) + size_t(g.crop_x)) * 3];
    out.pixels.insert(out.pixels.end(), row, row + size_t(g.w) * 3);
  }
  if (how)
    *how = std::to_string(source.width) + "x" + std::to_string(source.height) + " resized to " +
           std::to_string(g.resized_w) + "x" + std::to_string(g.resized_h) + " (short side " + std::to_string(size) +
           "), centre-cropped to " + std::to_string(g.w) + "x" + std::to_string(g.h) + " (multiples of " +
           std::to_string(multiple) + ")";
  return out;
}

std::vector<float> edit_mask_latent(const io::Image8& mask, const io::Image8& raw_source, int size, int multiple,
                                    int64_t h, int64_t w) {
  if (mask.width < 1 || mask.height < 1 || mask.pixels.empty()) fail("edit mask: the mask is empty");
  const EditGeometry g = edit_geometry(raw_source.width, raw_source.height, size, multiple);
  std::vector<float> m0(size_t(mask.width) * size_t(mask.height));
  double on = 0;
  for (size_t i = 0; i < m0.size(); ++i) {
    m0[i] = mask.pixels[i * size_t(mask.channels)] == 255 ? 1.f : 0.f;
    on += m0[i];
  }
  if (on == 0) fail("edit mask: no pixel is white (255) in its first channel: nothing to edit");
  auto m1 = io::resize_plane_bilinear(m0, mask.height, mask.width, g.resized_h, g.resized_w);
  std::vector<float> crop(size_t(g.w) * size_t(g.h));
  for (int y = 0; y < g.h; ++y)
    for (int x = 0; x < g.w; ++x)
      crop[size_t(y) * size_t(g.w) + size_t(x)] =
          m1[size_t(y + g.crop_y) * size_t(g.resized_w) + size_t(x + g.crop_x)] >= 0.5f ? 1.f : 0.f;
  return io::resize_plane_bilinear(crop, g.h, g.w, int(h), int(w));
}

EzigenEditResult ezigen_edit(StableDiffusion& sd, const EzigenWeights* weights, const EzigenEditParams& p,
                             const EventSink& events) {
  auto emit = [&](const Event& e) {
    if (events) events(e);
  };
  return reporting_failures(events, [&] {
    gpu::Context& ctx = *sd.ctx;
    const auto t_start = Clock::now();
    const int64_t factor = sd.vae.config.downsampling();
    if (p.steps < 1 || p.steps > 1000) fail("steps must be from 1 to 1000, got " + std::to_string(p.steps));
    if (!(p.split > 0 && p.split < 1)) fail("--split must be in (0, 1), got " + std::to_string(p.split));
    if (!std::isfinite(p.guidance) || p.guidance < 0 || p.guidance > 100)
      fail("guidance must be a number from 0 to 100, got " + std::to_string(p.guidance));
    if (p.subjects.empty()) fail("editing needs at least one subject image");
    if (p.source.channels != 3 || p.source.width % factor || p.source.height % factor)
      fail("edit source: expected RGB with sides that are multiples of " + std::to_string(factor));
    EzigenEditResult r;
    r.width = p.source.width;
    r.height = p.source.height;
    const int64_t h = r.height / factor, w = r.width / factor, n = sd.unet.config.in_channels * h * w;
    if (int64_t(p.mask.size()) != h * w)
      fail("edit mask: " + std::to_string(p.mask.size()) + " values for a latent of " + std::to_string(h) + "x" +
           std::to_string(w));
    const int N = p.steps;
    const bool guided = p.guidance > 1.0;

    sched::SchedulerConfig cfg = sd.scheduler_config;
    auto inverse = sched::make_scheduler(sched::SchedulerKind::DPMSolverPP2MInverse, cfg);
    inverse->set_timesteps(N);
    const sched::SchedulerKind kind = p.scheduler.value_or(sched::SchedulerKind::DDPM);
    auto scheduler = sched::make_scheduler(kind, cfg);
    scheduler->set_timesteps(N);
    if (scheduler->num_steps() != N || scheduler->history_slots() > 0 || scheduler->init_noise_sigma() != 1.0)
      fail(std::string(sched::scheduler_kind_name(kind)) +
           " cannot start the transfer steps in the middle of its grid; editing needs ddpm or ddim");
    // The inversion runs the inverse grid's steps i with split·N > i (the reference breaks at split·N <= i).
    while (r.inversion_steps < inverse->num_steps() && !(p.split * N <= double(r.inversion_steps))) ++r.inversion_steps;
    r.round_first_step = int(double(N) - p.split * double(N));
    const int transfer_steps = N - r.round_first_step;
    for (int k = 0; k < transfer_steps; ++k) {
      const int idx = p.blend == EditBlend::Reference ? r.inversion_steps - k : r.inversion_steps - k - 1;
      r.blend_index.push_back(std::max(idx, 0));
    }
    RoundPolicy policy = p.rounds;
    if (!policy.fixed && policy.threshold == 0) policy.threshold = default_similarity_threshold(policy.similarity);
    if (policy.fixed && *policy.fixed < 1) fail("editing needs at least one round");

    (void)tokenize_prompt(sd, p.prompt, p.prompt_ids);
    RunStarted started{r.inversion_steps, 1, r.width, r.height, guided, sched::scheduler_kind_name(kind)};
    started.round_steps = r.inversion_steps + transfer_steps;
    started.max_rounds = policy.fixed ? *policy.fixed : policy.max_rounds;
    emit(started);

    TorchGenerator gen_a(p.seed), gen_b(p.seed);
    models::GraphRunner runner(ctx, "ezigen edit");
  cancel_between_pieces(runner.recorder(), p.cancel);
    auto t0 = Clock::now();
    const SubjectAttention subject(sd, weights, p.mode, p.strength, runner, p.subjects, p.t_subject, gen_b);
    r.bank_bytes = subject.bytes();
    r.subject_seconds = since(t0);
    emit(StageDone{"subject_encoding", r.subject_seconds});
    {
      PlanShape shape;
      shape.batch = 1;
      shape.unet_batch = guided ? 2 : 1;
      shape.prompts = shape.unet_batch;
      shape.seq = prompt_sequence_length(sd);
      shape.h = h;
      shape.w = w;
      shape.encode_batch = 1;
      shape.hooks = &subject.hooks();
      runner.reserve(plan_activations(ctx, sd.dtype, *sd.text.model, subject.unet(), *sd.vae.model, shape).peak());
    }
    r.activation_bytes = runner.activation_bytes();
    r.weight_bytes = sd.weight_bytes();
    r.adapter_bytes = weights && p.mode == SubjectMode::Adapter ? weights->device_bytes() : 0;

    const PromptContext empty_ctx = encode_prompts(sd, runner, {"", "", p.empty_ids, {}}, 1, false, events);
    const PromptContext ctx_t = encode_prompts(sd, runner, {p.prompt, "", p.prompt_ids, p.empty_ids}, 1, guided, events);
    Denoiser inv(sd, *inverse, 1, h, w, false);
    Denoiser den(sd, *scheduler, 1, h, w, guided);
    // The background trajectory and the mask live on the device for the blends.
    const uint64_t lat_bytes = (uint64_t(n) * 4 + 255) / 256 * 256;
    gpu::Arena blend_arena(ctx, "edit background", lat_bytes * uint64_t(r.inversion_steps + 1) + lat_bytes + 512,
                           gpu::MemoryUse::Device);
    const Tensor mask{blend_arena.alloc(uint64_t(h * w) * 4, 256), ops::DType::F32, {h, w}};
    ctx.upload(mask.data, p.mask.data(), p.mask.size() * 4);
    std::vector<Tensor> bg;
    r.state_bytes = inv.state_bytes() + den.state_bytes() + blend_arena.capacity() + empty_ctx.arena.capacity() +
                    ctx_t.arena.capacity();
    const std::vector<int64_t> latent_shape{1, sd.unet.config.in_channels, h, w};

    io::Image8 current = p.source;
    EncodedLatents enc = encode_images(sd, runner, {current}, gen_b);
    const RoundMeasure measure = round_measure(policy, p.clip, p.scripted_similarity, current);
    for (int round = 1;; ++round) {
      throw_if_cancelled(p.cancel);
      t0 = Clock::now();
      // Invert the current image part way, keeping every latent on the way.
      std::vector<std::vector<float>> traj{enc.latent};
      inv.set_latent(enc.latent);
      DenoiseRange ir;
      ir.end = r.inversion_steps;
      ir.context = &empty_ctx.context;
      ir.cancel = p.cancel;
      ir.on_step = [&](int i, double seconds) {
        traj.push_back(inv.download_latent());
        emit(StepDone{i, inverse->num_steps(), inverse->timesteps()[size_t(i)], seconds, Phase::Inversion, round});
      };
      inv.run(runner, gen_a, ir);
      if (round == 1) {
        r.background = traj;
        for (const auto& v : traj) {
          Tensor t{blend_arena.alloc(uint64_t(n) * 4, 256), ops::DType::F32, latent_shape};
          ctx.upload(t.data, v.data(), v.size() * 4);
          bg.push_back(t);
        }
      }
      // Transfer from the inverted latent, blending the source's background back after every step.
      den.set_latent(traj.back());
      DenoiseRange tr;
      tr.first = r.round_first_step;
      tr.guidance = p.guidance;
      tr.context = &ctx_t.context;
      tr.unet = &subject.unet();
      tr.cancel = p.cancel;
      tr.hooks = [&](int) { return &subject.hooks(); };
      tr.after_step = [&](gpu::Recorder& rec, int i) {
        ops::latent_blend(ctx, rec, den.latent(), bg[size_t(r.blend_index[size_t(i - r.round_first_step)])], mask);
      };
      tr.on_step = [&](int i, double seconds) {
        StepDone e{i, N, scheduler->timesteps()[size_t(i)], seconds, Phase::Round, round};
        if (p.preview_x0) {
          e.x0 = std::make_shared<const Snapshot>(Snapshot{latent_shape, den.download_x0()});
          e.latent = std::make_shared<const Snapshot>(Snapshot{latent_shape, den.download_latent()});
        }
        emit(e);
      };
      den.run(runner, gen_a, tr);
      EncodedLatents next;
      EzigenRound rd = finish_round(sd, runner, den, round, enc, next, gen_b, policy, measure, t0, events);
      const bool stop = rd.stop;
      current = rd.image;
      r.rounds.push_back(std::move(rd));
      enc = std::move(next);
      if (stop) break;
    }
    r.image = current;
    r.total_seconds = since(t_start);
    emit(Finished{r.total_seconds});
    return r;
  });
}

}  // namespace ezivk::pipeline
