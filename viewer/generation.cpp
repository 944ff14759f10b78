#include "viewer/generation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/subject_bank.h"
#include "engine/pipeline/vae_codec.h"

namespace ezivk::viewer {

const char* status_name(RunState::Status s) {
  switch (s) {
    case RunState::Status::Loading: return "loading";
    case RunState::Status::Running: return "running";
    case RunState::Status::Finished: return "finished";
    case RunState::Status::Failed: return "failed";
    case RunState::Status::Stopped: return "stopped";
  }
  return "?";
}

Generation::Generation(gpu::Context& ctx, RunSettings settings) : ctx_(ctx), settings_(std::move(settings)) {
  state_.device = ctx.caps().name;
  char ms[32];
  std::snprintf(ms, sizeof ms, "%g", ctx.piece_ms());
  state_.queues = ctx.separate_ui_queue() ? "the window on a queue of its own; generation submits whole steps"
                  : !ctx.submit_every()   ? "one queue, shared; generation submits whole steps"
                  : ctx.piece_ms() > 0    ? "one queue, shared; generation submits in pieces of about " + std::string(ms) +
                                             " ms (from " + std::to_string(ctx.submit_every()) + " commands, adapted)"
                                          : "one queue, shared; generation submits in pieces of " +
                                             std::to_string(ctx.submit_every()) + " commands";
  state_.sketch = settings_.sketch_image;
  capture_head_ = settings_.capture_head;
  thread_ = std::thread([this] { run(); });
}

Generation::~Generation() { finish(); }

void Generation::finish() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void Generation::set_capture_head(int head) {
  std::lock_guard lock(mu_);
  if (state_.capture_heads > 0) head = std::clamp(head, -1, state_.capture_heads - 1);
  capture_head_ = head;
}

void Generation::stop() {
  cancel_.request();
  std::lock_guard lock(mu_);
  cv_.notify_all();  // a paused run wakes and meets the cancel check
}

void Generation::set_paused(bool paused) {
  std::lock_guard lock(mu_);
  state_.paused = paused;
  cv_.notify_all();
}

void Generation::request_decode() {
  std::lock_guard lock(mu_);
  decode_requested_ = true;
  cv_.notify_all();
}

void Generation::decode_latest() {
  pipeline::SnapshotPtr x0;
  std::optional<pipeline::DevicePreview> on_device;
  int step = -1, round = 0;
  {
    std::lock_guard lock(mu_);
    decode_requested_ = false;
    x0 = state_.x0;
    on_device = state_.x0_device;
    step = state_.step_index, round = state_.round;
  }
  if ((!x0 && !on_device) || !sd_) return;
  // The step's x̂0 is still in its preview slot (no later step runs while this one decodes): read it there; without
  // device previews, upload the host copy.
  gpu::Arena arena;
  ops::Tensor latent;
  if (on_device) {
    latent = ops::Tensor{on_device->slice, ops::DType::F32, on_device->shape};
  } else {
    const uint64_t bytes = x0->values.size() * sizeof(float);
    arena = gpu::Arena(ctx_, "viewer decode", bytes + 256, gpu::MemoryUse::Device);
    latent = ops::Tensor{arena.alloc(bytes, 256), ops::DType::F32, x0->shape};
    ctx_.upload(latent.data, x0->values.data(), bytes);
  }
  models::GraphRunner runner(ctx_, "viewer decode");
  auto decoded = pipeline::decode_latents(*sd_, runner, latent);
  {
    std::lock_guard lock(mu_);
    state_.decoded = std::make_shared<const io::Image8>(std::move(decoded.images.at(0)));
    state_.decoded_step = step, state_.decoded_round = round;
  }
  changed();
}

void Generation::step_once() {
  std::lock_guard lock(mu_);
  state_.paused = true;
  ++steps_allowed_;
  cv_.notify_all();
}

RunState Generation::state() const {
  std::lock_guard lock(mu_);
  RunState s = state_;
  s.capture_head = capture_head_;
  if (s.x0_device && settings_.preview_taken) settings_.preview_taken(s.x0_device->slice);
  return s;
}

bool Generation::done() const {
  std::lock_guard lock(mu_);
  return state_.status != RunState::Status::Loading && state_.status != RunState::Status::Running;
}

int Generation::steps_done() const {
  std::lock_guard lock(mu_);
  return state_.steps_done;
}

namespace {

// The transformer blocks at the UNet's finest resolution: the first down block's and the last up block's.
std::vector<std::string> finest_blocks(const std::vector<std::string>& names) {
  int last_up = -1;
  for (const auto& n : names)
    if (n.rfind("up_blocks.", 0) == 0) last_up = std::max(last_up, std::atoi(n.c_str() + 10));
  std::vector<std::string> out;
  for (const auto& n : names)
    if (n.rfind("down_blocks.0.", 0) == 0 || (last_up >= 0 && n.rfind("up_blocks." + std::to_string(last_up) + ".", 0) == 0))
      out.push_back(n);
  return out;
}

}  // namespace

void Generation::changed() const {
  if (settings_.on_change) settings_.on_change();
}

void Generation::on_event(const pipeline::Event& e) {
  fold(e);
  changed();
  if (!std::holds_alternative<pipeline::StepDone>(e)) return;
  // Paused: the run waits here, between two UNet steps, until resumed, allowed one step, or stopped; a decode asked
  // for meanwhile is made here.
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !state_.paused || steps_allowed_ > 0 || cancel_.requested() || decode_requested_; });
    if (!decode_requested_) break;
    lock.unlock();
    decode_latest();
    lock.lock();
  }
  if (state_.paused && steps_allowed_ > 0) --steps_allowed_;
}

void Generation::fold(const pipeline::Event& e) {
  // The correspondence is this (the run's) thread's own: folding a capture and copying the snapshot (tens of MB at
  // SD2 sizes) happen before the lock, so a UI frame never waits for them.
  std::shared_ptr<const Correspondence> snap;
  if (auto* ac = std::get_if<pipeline::AttentionCaptured>(&e)) {
    if (!correspondence_) {
      const auto& shape = ac->probs->shape;  // [B, queries, tokens]
      correspondence_.emplace(grid_w_, grid_h_, int(shape.at(2)), capture_blocks_);
    }
    if (correspondence_->add(*ac)) snap = correspondence_->snapshot();
  }
  std::lock_guard lock(mu_);
  RunState& s = state_;
  if (auto* r = std::get_if<pipeline::RunStarted>(&e)) {
    s.started = *r;
    s.status = RunState::Status::Running;
    s.message.clear();
  } else if (auto* st = std::get_if<pipeline::StepDone>(&e)) {
    ++s.steps_done;
    s.step_index = st->index;
    s.step_total = st->total;
    s.phase = st->phase;
    s.round = st->round;
    s.step_seconds.push_back(st->seconds);
    if (st->x0) s.x0 = st->x0;
    if (st->latent) s.latent = st->latent;
    s.x0_device = st->x0_device;
    s.timeline.push_back({st->round, st->index, st->total, st->phase, st->x0, st->latent, nullptr});
  } else if (auto* sk = std::get_if<pipeline::SketchReady>(&e)) {
    if (sk->x0_image) s.sketch = sk->x0_image;
    if (sk->latent && settings_.ezigen) {
      const auto& ez = *settings_.ezigen;
      // A run that itself started from a sketch keeps that one (its own carries no new x̂0).
      s.kept_sketch = ez.from_sketch ? ez.from_sketch
                                     : pipeline::EzigenParams::KeptSketch{sk->latent->values, sk->gen_a_values, ez.seed, ez.steps,
                                                                          ez.split, s.started.scheduler, s.started.width,
                                                                          s.started.height};
    }
  } else if (auto* rd = std::get_if<pipeline::RoundDone>(&e)) {
    s.rounds.push_back({rd->round, rd->image, rd->similarity, rd->stop, rd->reason});
  } else if (auto* ac = std::get_if<pipeline::AttentionCaptured>(&e)) {
    if (snap) {
      s.correspondence = std::move(snap);
      if (!s.timeline.empty() && s.timeline.back().round == ac->round && s.timeline.back().index == ac->step &&
          s.timeline_map_bytes + s.correspondence->bytes() <= settings_.map_budget) {
        s.timeline.back().correspondence = s.correspondence;
        s.timeline_map_bytes += s.correspondence->bytes();
      }
    }
  } else if (auto* sd = std::get_if<pipeline::StageDone>(&e)) {
    s.stages.push_back({sd->stage, sd->seconds});
  } else if (auto* n = std::get_if<pipeline::Notice>(&e)) {
    s.message = n->text;
  } else if (auto* f = std::get_if<pipeline::Finished>(&e)) {
    s.seconds = f->seconds;
  }
}

void Generation::run() {
  auto set = [&](RunState::Status st, std::string msg) {
    {
      std::lock_guard lock(mu_);
      state_.status = st;
      state_.message = std::move(msg);
    }
    changed();
  };
  try {
    RunSettings& rs = settings_;
    auto sd = pipeline::load_stable_diffusion(ctx_, rs.model, rs.dtype, rs.variant,
                                              [&](const std::string& m) { set(RunState::Status::Loading, m); });
    sd_ = sd.get();
    struct Forget {  // sd_ must not outlive the model
      pipeline::StableDiffusion*& p;
      ~Forget() { p = nullptr; }
    } forget{sd_};
    {
      std::lock_guard lock(mu_);
      state_.precision = ops::dtype_name(sd->dtype);
    }
    pipeline::throw_if_cancelled(&cancel_);
    if (sd->vae.model->has_encoder()) {
      // The preview projection: one small VAE encode of a few synthetic images (a stretch of channels 0-2 until then).
      set(RunState::Status::Loading, "fitting the latent preview");
      models::GraphRunner runner(ctx_, "latent preview fit");
      const auto fit = pipeline::fit_latent_rgb(*sd, runner);
      std::lock_guard lock(mu_);
      state_.preview_fit = fit;
    }
    auto sink = [this](const pipeline::Event& e) { on_event(e); };
    io::Image8 final_image;
    if (rs.ezigen) {
      std::optional<pipeline::EzigenWeights> weights;
      if (!rs.adapter.empty()) {
        set(RunState::Status::Loading, "loading adapters from " + rs.adapter);
        weights = pipeline::load_ezigen_weights(*sd, rs.adapter);
      }
      pipeline::EzigenParams p = *rs.ezigen;
      const int size = pipeline::subject_size(*sd);
      for (size_t i = 0; i < rs.subject_images.size(); ++i)
        p.subjects.push_back({pipeline::prepare_subject_image(rs.subject_images[i], size), rs.subject_prompts[i], std::nullopt});
      // The correspondence view's query grid: up to capture_grid x capture_grid cell centres of the finest grid.
      p.capture_blocks = finest_blocks(sd->unet.model->transformer_block_names());
      p.capture_points.clear();
      if (!p.capture_blocks.empty()) {
        const int64_t factor = sd->vae.config.downsampling(), size = pipeline::subject_size(*sd);
        const auto [fh, fw] = pipeline::block_grid(sd->unet.config, p.capture_blocks[0],
                                                   (p.height ? p.height : size) / factor, (p.width ? p.width : size) / factor);
        grid_w_ = int(std::min<int64_t>(fw, rs.capture_grid));
        grid_h_ = int(std::min<int64_t>(fh, rs.capture_grid));
        for (int j = 0; j < grid_h_; ++j)
          for (int i = 0; i < grid_w_; ++i)
            p.capture_points.push_back({(float(i) + 0.5f) / float(grid_w_), (float(j) + 0.5f) / float(grid_h_)});
      }
      int heads = 0;
      for (const auto* b : sd->unet.model->transformer_blocks())
        if (std::find(p.capture_blocks.begin(), p.capture_blocks.end(), b->name) != p.capture_blocks.end())
          heads = heads ? std::min(heads, int(b->heads)) : int(b->heads);
      {
        std::lock_guard lock(mu_);
        capture_blocks_ = p.capture_blocks;
        state_.capture_heads = heads;
        // A head asked for before the model was known (--head, the Inputs panel) fits it now.
        capture_head_ = std::clamp(capture_head_.load(), -1, heads - 1);
        if (!p.subjects.empty()) state_.subject = std::make_shared<const io::Image8>(p.subjects[0].image);
      }
      p.cancel = &cancel_;
      p.capture_head = &capture_head_;
      p.preview_x0 = true;
      p.preview_slot = rs.preview_slot;
      final_image = pipeline::ezigen_generate(*sd, weights ? &*weights : nullptr, p, sink).image;
    } else {
      pipeline::TextToImageParams p = rs.t2i;
      p.cancel = &cancel_;
      p.preview_x0 = true;
      p.preview_slot = rs.preview_slot;
      auto r = pipeline::text_to_image(*sd, p, sink);
      final_image = std::move(r.images.at(0));
    }
    {
      std::lock_guard lock(mu_);
      state_.final_image = std::make_shared<const io::Image8>(std::move(final_image));
      state_.status = RunState::Status::Finished;
    }
    changed();
  } catch (const pipeline::Cancelled&) {
    set(RunState::Status::Stopped, "stopped");
  } catch (const std::exception& e) {
    set(RunState::Status::Failed, e.what());
  }
}

}  // namespace ezivk::viewer
