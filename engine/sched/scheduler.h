#pragma once
// Diffusion schedulers as host-side math, matching diffusers step for step. Every step is a per-element
// linear update (plus an optional clamp of x̂0), described by StepCoefficients, so the denoising loop can
// apply it on the GPU without the latent coming back to the host; Scheduler::step is the host reference that
// applies the same coefficients.
#include <memory>
#include <vector>

#include "engine/sched/scheduler_config.h"

namespace ezivk::sched {

// After the step, slot = sample·x + model_output·m + x0·x̂0 (the pre-step x and m of this step).
struct HistoryWrite {
  int slot = 0;
  double sample = 0;
  double model_output = 0;
  double x0 = 0;
};

// One step, element by element, with x the current sample, m the model output, z the noise and h_k the
// history slots kept between steps (PLMS's earlier model outputs, DPM-Solver++'s previous x̂0):
//   x̂0     = x0_sample·x + x0_model_output·m, clamped to [−clip_range, clip_range] when clip_x0
//   x_next = sample·x + model_output·m + x0·x̂0 + noise·z + Σ_k history[k]·h_k
// then every write stores its combination into its slot. A slot read and written in the same step is read
// first. The prediction type is folded into the numbers; x̂0 is also what the viewer shows for the step.
// clip_sample (DDPM, DDIM, DDIM inverse) is the clamp: still element-wise, so a kernel can apply it too.
struct StepCoefficients {
  double x0_sample = 0;
  double x0_model_output = 0;
  bool clip_x0 = false;
  double clip_range = 1.0;

  double sample = 0;
  double model_output = 0;
  double x0 = 0;
  double noise = 0;
  std::vector<double> history;  // Scheduler::history_slots() entries
  std::vector<HistoryWrite> writes;
};

// The coefficients as the sched_step op reads them (engine/ops/sched_step_layout.h); an Error when the step
// needs more history slots or writes than the block holds.
std::vector<float> pack_step_coefficients(const StepCoefficients& c);

// add_noise(x0, noise, t) = x0·x0 + noise·noise.
struct NoiseCoefficients {
  double x0 = 0;
  double noise = 0;
};

class Scheduler {
 public:
  Scheduler(SchedulerKind kind, const SchedulerConfig& config);
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  SchedulerKind kind() const { return kind_; }
  const SchedulerConfig& config() const { return config_; }
  const std::vector<float>& alphas_cumprod() const { return alphas_cumprod_; }

  // Builds the schedule for n inference steps (1 <= n <= num_train_timesteps) and forgets the history.
  virtual void set_timesteps(int n) = 0;
  // The timestep the UNet is called with at each step (float: Euler's are fractional). PNDM's PLMS calls the
  // UNet n + 1 times for n steps; DPM-Solver++ inverse with Karras sigmas may drop repeated timesteps.
  const std::vector<float>& timesteps() const { return timesteps_; }
  int num_steps() const { return static_cast<int>(timesteps_.size()); }

  // Standard deviation of the starting noise: the initial latent is randn · init_noise_sigma().
  virtual double init_noise_sigma() const { return 1.0; }
  // The UNet sees sample · model_input_scale(i): 1, or 1/√(σ²+1) for the Euler schedulers.
  virtual double model_input_scale(int i) const;
  // True where diffusers draws noise in step i (DDPM at t > 0, DDIM with η > 0, Euler ancestral always, even
  // for the last step whose coefficient is 0), so a seeded generator stays in step with diffusers.
  virtual bool needs_noise(int i) const;
  virtual int history_slots() const { return 0; }
  virtual StepCoefficients step_coefficients(int i) const = 0;
  // For a timestep of this schedule (Euler, DPM-Solver++) or any training timestep (the others).
  virtual NoiseCoefficients add_noise_coefficients(float t) const = 0;

  // Host reference: applies step_coefficients(i) and keeps the history. Steps run in order from 0 (step 0
  // starts over). `noise` must be given where needs_noise(i); it is ignored elsewhere.
  std::vector<float> step(int i, const std::vector<float>& model_output, const std::vector<float>& sample,
                          const std::vector<float>* noise);
  // x̂0 of the last host step.
  const std::vector<float>& predicted_x0() const { return x0_; }
  std::vector<float> add_noise(const std::vector<float>& x0, const std::vector<float>& noise, float t) const;

 protected:
  // Error unless 0 <= i < num_steps() (and set_timesteps has run).
  void check_step_index(int i) const;
  // Error unless 1 <= n <= num_train_timesteps.
  void check_num_steps(int n) const;
  void set_schedule(std::vector<float> timesteps);
  // √ᾱ_t·x0 + √(1−ᾱ_t)·noise for a training timestep t (DDPM, DDIM, PNDM, DDIM inverse).
  NoiseCoefficients add_noise_by_alpha(float t) const;
  [[noreturn]] void fail_here(const std::string& what) const;

  SchedulerKind kind_;
  SchedulerConfig config_;
  std::vector<float> betas_;
  std::vector<float> alphas_cumprod_;

 private:
  std::vector<float> timesteps_;
  std::vector<std::vector<float>> history_;
  std::vector<float> x0_;
  int next_step_ = 0;
};

// Error naming the config source for settings the kind cannot run with.
std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, const SchedulerConfig& config);

}  // namespace ezivk::sched
