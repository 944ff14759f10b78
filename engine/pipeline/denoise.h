#pragma once
// Stage: denoising a latent over a range of a scheduler's steps, the loop every pipeline shares (text-to-image,
// EZIGen's sketch, transfer and rounds, editing's inversion and transfer). The latent stays on the device for the
// whole range: the scheduler step is a kernel fed with coefficients the host computed; only noise for stochastic
// steps goes up, nothing comes back unless a step callback asks for it.
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "engine/gpu/memory.h"
#include "engine/models/graph_runner.h"
#include "engine/models/transformer2d.h"
#include "engine/models/unet2d_condition.h"
#include "engine/pipeline/cancel.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/sched/scheduler.h"
#include "engine/util/torch_randn.h"

namespace ezivk::pipeline {

struct OpTime {
  std::string op;
  double ms = 0;  // summed over every profiled UNet step
  int dispatches = 0;
};

struct DenoiseRange {
  int first = 0;  // the first step of the scheduler's grid to run
  int end = -1;   // one past the last (-1: the grid's end)
  double guidance = 1;  // used when the denoiser is guided (context [2B, …])
  const ops::Tensor* context = nullptr;  // [UB, seq, hidden]
  const models::UNet2DConditionModel* unet = nullptr;  // nullptr: the model's (EZIGen may generate with another)
  // The hooks for grid step i (nullptr: the plain UNet). Whatever they allocate must have been part of the
  // activation plan the runner reserved (plan_activations' hooks).
  std::function<const models::BlockHooks*(int step)> hooks;
  // Records more work after step i's scheduler update, into the same submit (editing's latent blend).
  std::function<void(gpu::Recorder& rec, int step)> after_step;
  // After step i was submitted and finished; latent() and x0() hold its result until the next step.
  std::function<void(int step, double seconds)> on_step;
  const CancelFlag* cancel = nullptr;  // checked before every step: Cancelled
};

class Denoiser {
 public:
  // A latent of batch × latent_channels × h × w; guided: the UNet runs on 2·batch with the guidance mix fused into
  // the step. The scheduler's timesteps must be set; the denoiser keeps a reference to it.
  Denoiser(StableDiffusion& sd, const sched::Scheduler& scheduler, int64_t batch, int64_t h, int64_t w, bool guided,
           bool profile = false);
  Denoiser(const Denoiser&) = delete;
  Denoiser& operator=(const Denoiser&) = delete;

  // randn · init_noise_sigma from `gen` (text-to-image's first draw).
  void init_noise(TorchGenerator& gen);
  void set_latent(std::span<const float> values);
  // Runs the range. `gen` draws the noise of stochastic steps, in diffusers' order. A range that starts after
  // step 0 of a multistep scheduler (PNDM, DPM-Solver++) is an Error: its coefficients assume the earlier steps'
  // history.
  void run(models::GraphRunner& runner, TorchGenerator& gen, const DenoiseRange& range);

  const ops::Tensor& latent() const { return x_; }  // f32 [B, C, h, w]
  const ops::Tensor& x0() const { return x0_; }     // f32: the last step's x̂0
  // Error naming the step (1-based) when the latent holds a NaN or an infinity; run() calls it after every step.
  void check_finite(int step) const;
  std::vector<float> download_latent() const;
  std::vector<float> download_x0() const;
  std::vector<int64_t> shape() const { return x_.shape; }
  uint64_t state_bytes() const { return arena_.capacity(); }
  // With profile: GPU time per op over every step run, slowest first.
  std::vector<OpTime> profile() const;

 private:
  StableDiffusion& sd_;
  const sched::Scheduler& scheduler_;
  bool guided_, profile_;
  int64_t n_ = 0, unet_batch_ = 0;
  gpu::Arena arena_;
  ops::Tensor x_, x0_, noise_, history_, unet_in_;
  std::vector<ops::Tensor> coefs_, timesteps_;  // per grid step
  std::map<std::string, OpTime> op_times_;
};

}  // namespace ezivk::pipeline
