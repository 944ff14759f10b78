#include "engine/ops/latent_blend.h"

#include "engine/ops/dispatch_util.h"

namespace ezivk::ops {

void latent_blend(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& bg, const Tensor& mask) {
  expect_fits("latent_blend", "x", x);
  expect_fits("latent_blend", "bg", bg);
  expect_fits("latent_blend", "mask", mask);
  if (x.dtype != DType::F32 || bg.dtype != DType::F32 || mask.dtype != DType::F32)
    fail("latent_blend: x, bg and mask must be f32");
  if (bg.numel() != x.numel()) fail("latent_blend: bg must have x's " + std::to_string(x.numel()) + " elements");
  if (mask.numel() < 1 || x.numel() % mask.numel())
    fail("latent_blend: the mask's " + std::to_string(mask.numel()) + " elements do not tile x's " +
         std::to_string(x.numel()));
  constexpr uint32_t kWg = 256;
  const uint32_t spec[] = {kWg};
  const auto& p = ctx.pipeline("latent_blend/latent_blend_f32", spec);
  struct {
    uint32_t n, hw;
  } push{uint32_t(x.numel()), uint32_t(mask.numel())};
  const Grid g = grid_1d(ctx, uint64_t(x.numel()), kWg);
  rec.dispatch(p, {{x.data, gpu::Access::ReadWrite}, {bg.data, gpu::Access::Read}, {mask.data, gpu::Access::Read}},
               push, g.x, g.y, 1, "latent_blend");
}

std::vector<float> latent_blend_ref(std::vector<float> x, const std::vector<float>& bg, const std::vector<float>& m) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = m[i % m.size()];
    x[i] = float(double(x[i]) * w + double(bg[i]) * (1.0 - w));
  }
  return x;
}

}  // namespace ezivk::ops
