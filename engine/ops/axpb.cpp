#include "engine/ops/axpb.h"

#include "engine/ops/dispatch_util.h"

namespace ezivk::ops {

void axpb(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y, float a, float b) {
  expect_fits("axpb", "x", x);
  expect_fits("axpb", "y", y);
  if (x.numel() != y.numel()) fail("axpb: x and y must have the same element count");
  if (x.dtype != y.dtype) fail("axpb: x and y must share a dtype");
  constexpr uint32_t kWg = 256;
  const uint32_t spec[] = {kWg};
  const auto& p = ctx.pipeline(std::string("axpb/axpb_") + variant(x.dtype), spec);
  struct {
    uint32_t n;
    float a, b;
  } push{uint32_t(x.numel()), a, b};
  Grid g = grid_1d(ctx, uint64_t(x.numel()), kWg);
  rec.dispatch(p, {{x.data, gpu::Access::Read}, {y.data, gpu::Access::Write}}, push, g.x, g.y, 1, "axpb");
}

std::vector<float> axpb_ref(const std::vector<float>& x, float a, float b) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = a * x[i] + b;
  return y;
}

}  // namespace ezivk::ops
