#include "engine/ops/timestep_embedding.h"

#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "timestep_embedding";
constexpr uint32_t kWg = 64;  // rows are a few hundred values; small groups spread them over more cores
}  // namespace

void timestep_embedding(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& timesteps, const Tensor& y,
                        bool flip_sin_to_cos, float downscale_freq_shift, double max_period) {
  const std::string op = kOp;
  expect_shape(kOp, "timesteps", timesteps, {-1});
  expect_dtype(kOp, "timesteps", timesteps, DType::F32);
  expect_shape(kOp, "y", y, {timesteps.dim(0), -1});
  expect_usable(ctx, kOp, "y", y);
  expect_disjoint(kOp, "y", y, "timesteps", timesteps);
  const int64_t dim = y.dim(1), half = dim / 2;
  if (!(max_period > 1.0) || !std::isfinite(max_period)) fail(op + ": max_period must be a finite number above 1");
  if (half > 0 && !(double(half) - downscale_freq_shift > 0.0))
    fail(op + ": downscale_freq_shift (" + std::to_string(downscale_freq_shift) +
         ") must be below half the dimension (" + std::to_string(half) + ")");

  // q = f_1; the shader raises it to the i-th power in two-float arithmetic, so q goes as hi + lo.
  const double q = half > 0 ? std::exp(-std::log(max_period) / (double(half) - downscale_freq_shift)) : 1.0;
  const float q_hi = float(q), q_lo = float(q - double(q_hi));
  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("timestep_embedding/timestep_embedding_") + variant(y.dtype), spec);
  struct {
    uint32_t n, dim, half_dim, flip;
    float q_hi, q_lo;
  } push{uint32_t(y.numel()), uint32_t(dim), uint32_t(half), flip_sin_to_cos ? 1u : 0u, q_hi, q_lo};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(timesteps, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, kOp);
}

std::vector<float> timestep_embedding_ref(const std::vector<float>& timesteps, int64_t dim, bool flip_sin_to_cos,
                                          float downscale_freq_shift, double max_period) {
  const int64_t half = dim / 2;
  std::vector<float> y(timesteps.size() * size_t(dim), 0.f);
  for (size_t b = 0; b < timesteps.size(); ++b)
    for (int64_t i = 0; i < half; ++i) {
      const double f = std::exp(-std::log(max_period) * double(i) / (double(half) - downscale_freq_shift));
      const double arg = double(timesteps[b]) * f;
      const double first = flip_sin_to_cos ? std::cos(arg) : std::sin(arg);
      const double second = flip_sin_to_cos ? std::sin(arg) : std::cos(arg);
      y[b * size_t(dim) + size_t(i)] = float(first);
      y[b * size_t(dim) + size_t(half + i)] = float(second);
    }
  return y;
}

}  // namespace ezivk::ops
