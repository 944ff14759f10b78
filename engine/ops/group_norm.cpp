#include "engine/ops/group_norm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "group_norm";
// A power of two (the reduction tree needs one), and large: often only B * G = 32 workgroups run, each of
// which must keep many reads in flight. Devices may offer as few as 128 invocations.
uint32_t workgroup_size(const gpu::Context& ctx) {
  const uint32_t limit = std::min(ctx.caps().max_workgroup_invocations, ctx.caps().max_workgroup_size[0]);
  uint32_t wg = 512;
  while (wg > limit && wg > 1) wg /= 2;
  return wg;
}
}  // namespace

void group_norm(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                const Tensor& y, uint32_t groups, float eps, bool silu) {
  if (x.rank() < 3) fail(std::string(kOp) + ": x must have rank >= 3 ([B, C, ...]), got " + shape_string(x.shape));
  expect_usable(ctx, kOp, "x", x);
  const int64_t batch = x.dim(0), channels = x.dim(1), spatial = x.numel() / (batch * channels);
  if (groups == 0 || channels % groups != 0)
    fail(std::string(kOp) + ": groups (" + std::to_string(groups) + ") must divide the " + std::to_string(channels) +
         " channels of x");
  expect_norm_params(kOp, gamma, beta, channels, eps);
  expect_same_layout_output(ctx, kOp, x, y);

  const uint32_t spec[] = {workgroup_size(ctx)};
  const auto& pl = ctx.pipeline(std::string("group_norm/group_norm_") + variant(x.dtype), spec);
  struct {
    uint32_t instances, groups, group_channels, spatial;
    float eps;
    uint32_t silu;
  } push{uint32_t(batch * groups), groups, uint32_t(channels / groups), uint32_t(spatial), eps, silu ? 1u : 0u};
  const Grid g = grid_1d(ctx, push.instances, 1);
  rec.dispatch(pl,
               {bind(x, gpu::Access::Read), bind(gamma, gpu::Access::Read), bind(beta, gpu::Access::Read),
                bind(y, gpu::Access::Write)},
               push, g.x, g.y, 1, kOp);
}

std::vector<float> group_norm_ref(const std::vector<float>& x, const std::vector<float>& gamma,
                                  const std::vector<float>& beta, int64_t batch, int64_t channels, int64_t spatial,
                                  int64_t groups, float eps, bool silu) {
  std::vector<float> y(x.size());
  const int64_t cg = channels / groups, n = cg * spatial;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < groups; ++g) {
      const size_t base = size_t((b * channels + g * cg) * spatial);
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mean += x[base + i];
      mean /= double(n);
      for (int64_t i = 0; i < n; ++i) var += (x[base + i] - mean) * (x[base + i] - mean);
      const double rstd = 1.0 / std::sqrt(var / double(n) + eps);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / spatial;
        double v = (x[base + i] - mean) * rstd * gamma[size_t(c)] + beta[size_t(c)];
        if (silu) v = v / (1.0 + std::exp(-v));
        y[base + i] = float(v);
      }
    }
  return y;
}

}  // namespace ezivk::ops
