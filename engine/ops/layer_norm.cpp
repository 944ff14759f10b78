#include "engine/ops/layer_norm.h"

#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "layer_norm";
// A power of two (the reduction tree needs one); rows are 320..1280 wide in SD2 and CLIP, so 64
// invocations each take 5..20 values and the reduction stays short.
constexpr uint32_t kWg = 64;
}  // namespace

void layer_norm(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                const Tensor& y, float eps) {
  if (x.rank() < 1) fail(std::string(kOp) + ": x must have rank >= 1, got " + shape_string(x.shape));
  expect_usable(ctx, kOp, "x", x);
  const int64_t cols = x.dim(-1), rows = x.numel() / cols;
  expect_norm_params(kOp, gamma, beta, cols, eps);
  expect_same_layout_output(ctx, kOp, x, y);

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("layer_norm/layer_norm_") + variant(x.dtype), spec);
  struct {
    uint32_t rows, cols;
    float eps;
  } push{uint32_t(rows), uint32_t(cols), eps};
  const Grid g = grid_1d(ctx, uint64_t(rows), 1);
  rec.dispatch(pl,
               {bind(x, gpu::Access::Read), bind(gamma, gpu::Access::Read), bind(beta, gpu::Access::Read),
                bind(y, gpu::Access::Write)},
               push, g.x, g.y, 1, kOp);
}

std::vector<float> layer_norm_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                  const std::vector<float>& beta, int64_t rows, int64_t cols, float eps) {
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * cols;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < cols; ++i) mean += xr[i];
    mean /= double(cols);
    for (int64_t i = 0; i < cols; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const double rstd = 1.0 / std::sqrt(var / double(cols) + eps);
    for (int64_t i = 0; i < cols; ++i)
      y[size_t(r * cols + i)] = float((xr[i] - mean) * rstd * gamma[size_t(i)] + beta[size_t(i)]);
  }
  return y;
}

}  // namespace ezivk::ops
