#include "engine/sched/prediction.h"

#include <cmath>

namespace ezivk::sched {

Linear2 x0_from_alpha(PredictionType p, float a) {
  const float sqrt_a = std::sqrt(a);
  const float sqrt_b = std::sqrt(1.0f - a);
  switch (p) {
    case PredictionType::Epsilon: return {1.0 / sqrt_a, -static_cast<double>(sqrt_b) / sqrt_a};
    case PredictionType::Sample: return {0.0, 1.0};
    case PredictionType::VPrediction: return {sqrt_a, -static_cast<double>(sqrt_b)};
  }
  return {};
}

Linear2 eps_from_alpha(PredictionType p, float a) {
  const float sqrt_a = std::sqrt(a);
  const float sqrt_b = std::sqrt(1.0f - a);
  switch (p) {
    case PredictionType::Epsilon: return {0.0, 1.0};
    // ε = (x − √ᾱ·x̂0)/√(1−ᾱ) with x̂0 = m, before any clipping of x̂0 (as diffusers orders it).
    case PredictionType::Sample: return {1.0 / sqrt_b, -static_cast<double>(sqrt_a) / sqrt_b};
    case PredictionType::VPrediction: return {sqrt_b, sqrt_a};
  }
  return {};
}

Linear2 x0_from_sigma(PredictionType p, float s) {
  switch (p) {
    case PredictionType::Epsilon: return {1.0, -static_cast<double>(s)};
    case PredictionType::Sample: return {0.0, 1.0};
    case PredictionType::VPrediction: {
      const float s2p1 = s * s + 1.0f;
      return {1.0 / s2p1, static_cast<double>(-s / std::sqrt(s2p1))};
    }
  }
  return {};
}

AlphaSigma alpha_sigma_from_sigma(float s) {
  const float alpha = 1.0f / std::sqrt(s * s + 1.0f);
  return {alpha, s * alpha};
}

Linear2 x0_from_alpha_sigma(PredictionType p, AlphaSigma as) {
  switch (p) {
    case PredictionType::Epsilon: return {1.0 / as.alpha, -static_cast<double>(as.sigma) / as.alpha};
    case PredictionType::Sample: return {0.0, 1.0};
    case PredictionType::VPrediction: return {as.alpha, -static_cast<double>(as.sigma)};
  }
  return {};
}

}  // namespace ezivk::sched
