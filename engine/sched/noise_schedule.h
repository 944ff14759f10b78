#pragma once
// The schedule math every scheduler shares, computed the way diffusers computes it so that the last bits
// agree: betas and alphas_cumprod are float32 (torch), timestep grids are numpy float64/int64 arithmetic
// with numpy's half-to-even rounding, sigma interpolation is np.interp in float64 over the float32 training
// sigmas.
#include <cstdint>
#include <vector>

#include "engine/sched/scheduler_config.h"

namespace ezivk::sched {

// torch.linspace(start, end, n, dtype=float32) following torch 2.x's serial CPU kernel: float32 step, the
// first half counted up from start and the second half down from end, each as one fused multiply-add (what
// an FMA-enabled build compiles it to). Other builds differ in the last bit of some values (Debian's torch
// 1.13, the fixtures' reference, in about a quarter of them); the betas tests allow that one ulp.
std::vector<float> torch_linspace_f32(double start, double end, int n);

// diffusers' betas: linear, scaled_linear (linspace of square roots, squared in float32) or
// squaredcos_cap_v2 (the Glide cosine, float64 then float32, capped at 0.999).
std::vector<float> make_betas(BetaSchedule schedule, double beta_start, double beta_end, int n);

// cumprod(1 - betas): torch accumulates the product in double and rounds each prefix to float32.
std::vector<float> cumulative_alphas(const std::vector<float>& betas);

// Training sigmas sqrt((1 - a) / a) in float32, ascending with t.
std::vector<float> training_sigmas(const std::vector<float>& alphas_cumprod);

// numpy building blocks (float64).
double np_round(double x);  // half to even
std::vector<double> np_linspace(double start, double stop, int num);
std::vector<double> np_arange(double start, double stop, double step);
// np.interp(x, arange(len(fp)), fp).
double np_interp(double x, const std::vector<float>& fp);

// diffusers' _convert_to_karras: (max^(1/7) + ramp·(min^(1/7) − max^(1/7)))^7 over linspace(0, 1, n).
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n);

// diffusers' _sigma_to_t: the fractional training timestep whose log-sigma matches, interpolated linearly in
// log sigma; `log_sigmas` are float32 logs of the training sigmas.
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);
std::vector<float> log_f32(const std::vector<float>& v);

// The integer grids of DDPM, DDIM and PNDM, descending (leading: arange·(T//n) + offset; linspace:
// round(linspace(0, T−1, n)); trailing: round(arange(T, 0, −T/n)) − 1).
std::vector<int64_t> descending_grid(TimestepSpacing spacing, int num_train_timesteps, int n, int steps_offset);

// The float32 grid of the Euler schedulers, descending (numpy float64 then float32; leading adds steps_offset
// in float32, trailing subtracts 1 in float32).
std::vector<float> euler_timestep_grid(TimestepSpacing spacing, int num_train_timesteps, int n, int steps_offset);

// Error naming the source and `what` unless every timestep indexes alphas_cumprod.
void check_timesteps_in_range(const std::vector<int64_t>& ts, int num_train_timesteps, const std::string& source,
                              const char* scheduler);

}  // namespace ezivk::sched
