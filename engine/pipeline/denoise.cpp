#include "engine/pipeline/denoise.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "engine/ops/sched_step.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

using ops::DType;
using ops::Tensor;

namespace {

using Clock = std::chrono::steady_clock;
uint64_t aligned(uint64_t b) { return (b + 255) / 256 * 256; }
std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

Denoiser::Denoiser(StableDiffusion& sd, const sched::Scheduler& scheduler, int64_t B, int64_t h, int64_t w, bool guided,
                   bool profile)
    : sd_(sd), scheduler_(scheduler), guided_(guided), profile_(profile) {
  const int64_t lc = sd.unet.config.in_channels, steps = scheduler.num_steps();
  if (steps < 1) fail("denoise: the scheduler has no timesteps set");
  n_ = B * lc * h * w;
  unet_batch_ = guided ? 2 * B : B;
  const int slots = std::max(scheduler.history_slots(), 1);
  const uint64_t ab = ops::dtype_bytes(sd.dtype), coef_bytes = aligned(ops::kStepCoefficientFloats * 4);
  const uint64_t bytes = 3 * aligned(n_ * 4) + aligned(slots * n_ * 4) + aligned(unet_batch_ * lc * h * w * ab) +
                         steps * (coef_bytes + aligned(unet_batch_ * 4)) + 256 * 8;
  arena_ = gpu::Arena(*sd.ctx, "denoise state", bytes, gpu::MemoryUse::Device);
  auto make = [&](std::vector<int64_t> shape, DType dt) {
    Tensor t{{}, dt, std::move(shape)};
    t.data = arena_.alloc(std::max<uint64_t>(t.bytes(), 4), 256);
    return t;
  };
  x_ = make({B, lc, h, w}, DType::F32);
  x0_ = make({B, lc, h, w}, DType::F32);
  noise_ = make({B, lc, h, w}, DType::F32);
  history_ = make({slots, B, lc, h, w}, DType::F32);
  unet_in_ = make({unet_batch_, lc, h, w}, sd.dtype);
  // Per step: the coefficient block and the UNet's timesteps, each at an aligned offset (bound on their own).
  const auto& ts = scheduler.timesteps();
  for (int64_t i = 0; i < steps; ++i) {
    coefs_.push_back(make({int64_t(ops::kStepCoefficientFloats)}, DType::F32));
    timesteps_.push_back(make({unet_batch_}, DType::F32));
    const auto c = sched::pack_step_coefficients(scheduler.step_coefficients(int(i)));
    // A degenerate schedule (beta_start = beta_end = 0, ...) shows here, before any work, not as NaN images.
    for (float v : c)
      if (!std::isfinite(v))
        fail(std::string(sched::scheduler_kind_name(scheduler.kind())) + ": step " + std::to_string(i + 1) + " of " +
             std::to_string(steps) + " (t=" + number(scheduler.timesteps()[size_t(i)]) +
             ") has non-finite update coefficients: the noise schedule is degenerate (check beta_start, beta_end, "
             "beta_schedule and trained_betas in scheduler_config.json or --scheduler-set)");
    sd.ctx->upload(coefs_.back().data, c.data(), c.size() * 4);
    const std::vector<float> t(size_t(unet_batch_), ts[size_t(i)]);
    sd.ctx->upload(timesteps_.back().data, t.data(), t.size() * 4);
  }
}

void Denoiser::init_noise(TorchGenerator& gen) {
  auto x = gen.randn(n_);
  const float sigma = float(scheduler_.init_noise_sigma());
  if (!std::isfinite(sigma) || sigma <= 0)
    fail(std::string(sched::scheduler_kind_name(scheduler_.kind())) + ": the initial noise scale " +
         number(sigma) + " is not a positive number: the noise schedule is degenerate (check beta_start, "
         "beta_end and beta_schedule)");
  for (auto& v : x) v *= sigma;
  set_latent(x);
}

void Denoiser::set_latent(std::span<const float> values) {
  if (int64_t(values.size()) != n_)
    fail("denoise: a latent of " + std::to_string(values.size()) + " values was given, " + std::to_string(n_) +
         " expected");
  sd_.ctx->upload(x_.data, values.data(), values.size_bytes());
}

void Denoiser::run(models::GraphRunner& runner, TorchGenerator& gen, const DenoiseRange& r) {
  gpu::Context& ctx = *sd_.ctx;
  const int steps = scheduler_.num_steps(), end = r.end < 0 ? steps : r.end;
  if (r.first < 0 || r.first > end || end > steps)
    fail("denoise: steps [" + std::to_string(r.first) + ", " + std::to_string(end) + ") are outside the grid of " +
         std::to_string(steps));
  if (r.first > 0 && scheduler_.history_slots() > 0)
    fail(std::string("denoise: ") + sched::scheduler_kind_name(scheduler_.kind()) +
         " keeps a history across steps and cannot start at step " + std::to_string(r.first));
  if (!r.context || r.context->dim(0) != unet_batch_)
    fail("denoise: the prompt context must hold " + std::to_string(unet_batch_) + " rows");
  const int slots = scheduler_.history_slots();
  if (slots && r.first < end) runner.recorder().fill(history_.data, 0);  // recorded into the first step's submit
  for (int i = r.first; i < end; ++i) {
    throw_if_cancelled(r.cancel);
    const auto t0 = Clock::now();
    gpu::Recorder& rec = runner.recorder();
    ops::sched_model_input(ctx, rec, x_, unet_in_, float(scheduler_.model_input_scale(i)));
    const models::BlockHooks* hooks = r.hooks ? r.hooks(i) : nullptr;
    const Tensor& ts = timesteps_[size_t(i)];
    const models::UNet2DConditionModel& unet = r.unet ? *r.unet : *sd_.unet.model;
    const Tensor eps =
        runner.record(sd_.dtype, [&](models::Graph& g) { return unet.forward(g, unet_in_, ts, *r.context, hooks); });
    ops::SchedStepArgs a;
    a.x = x_;
    a.model_out = eps;
    a.guided = guided_;
    a.guidance = float(r.guidance);
    if (scheduler_.needs_noise(i)) {
      const auto z = gen.randn(n_);  // drawn when diffusers draws it, so the stream matches step for step
      ctx.upload(noise_.data, z.data(), z.size() * 4);
      a.noise = noise_;
    }
    if (slots) a.history = Tensor{history_.data, DType::F32, {slots, n_}};
    a.x0 = x0_;
    a.coefficients = coefs_[size_t(i)];
    ops::sched_step(ctx, rec, a);
    if (r.after_step) r.after_step(rec, i);
    rec.submit_and_wait();
    check_finite(i);
    if (profile_)
      for (const auto& t : rec.timings()) {
        auto& o = op_times_[t.label];
        o.op = t.label;
        o.ms += t.ms;
        ++o.dispatches;
      }
    if (r.on_step) r.on_step(i, std::chrono::duration<double>(Clock::now() - t0).count());
  }
}

void Denoiser::check_finite(int step) const {
  // The latent is small (n_ floats); reading it back after each step costs far less than the step and names the
  // step where things went wrong instead of failing on a NaN image at the end.
  const std::vector<float> x = download_latent();
  for (size_t k = 0; k < x.size(); ++k)
    if (!std::isfinite(x[k]))
      fail("step " + std::to_string(step + 1) + " of " + std::to_string(scheduler_.num_steps()) + " (t=" +
           number(scheduler_.timesteps()[size_t(step)]) + "): the latent became " +
           (std::isnan(x[k]) ? "NaN" : "infinite") + " (element " + std::to_string(k) +
           "). Likely causes: non-finite weights (check with `ezivk inspect MODEL --check-weights`), an fp16 "
           "overflow (try --precision fp32), or a degenerate noise schedule");
}

std::vector<float> Denoiser::download_latent() const {
  std::vector<float> v(static_cast<size_t>(n_));
  sd_.ctx->download(x_.data, v.data(), v.size() * 4);
  return v;
}

std::vector<float> Denoiser::download_x0() const {
  std::vector<float> v(static_cast<size_t>(n_));
  sd_.ctx->download(x0_.data, v.data(), v.size() * 4);
  return v;
}

std::vector<OpTime> Denoiser::profile() const {
  std::vector<OpTime> out;
  for (auto& [name, t] : op_times_) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  return out;
}

}  // namespace ezivk::pipeline
