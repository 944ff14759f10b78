#pragma once
// x̂0 and ε as linear combinations a·x + b·m of the sample x and the model output m, for each prediction
// type. The scalars are computed in float32, the order diffusers' float32 tensors use, so the coefficients
// carry the same roundings as diffusers' steps.
#include "engine/sched/scheduler_config.h"

namespace ezivk::sched {

struct Linear2 {
  double sample = 0;
  double model_output = 0;
};

// DDPM/DDIM/PNDM parameterisation by ᾱ: x = √ᾱ·x0 + √(1−ᾱ)·ε, v = √ᾱ·ε − √(1−ᾱ)·x0.
Linear2 x0_from_alpha(PredictionType p, float alpha_cumprod);
Linear2 eps_from_alpha(PredictionType p, float alpha_cumprod);

// Euler's parameterisation by σ (x = x0 + σ·ε); v_prediction as in diffusers' EulerDiscreteScheduler.
Linear2 x0_from_sigma(PredictionType p, float sigma);

// DPM-Solver's α_t = 1/√(σ²+1), σ_t = σ·α_t.
struct AlphaSigma {
  float alpha = 1;
  float sigma = 0;
};
AlphaSigma alpha_sigma_from_sigma(float sigma);
Linear2 x0_from_alpha_sigma(PredictionType p, AlphaSigma as);

}  // namespace ezivk::sched
