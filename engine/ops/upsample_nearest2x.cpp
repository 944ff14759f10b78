#include "engine/ops/upsample_nearest2x.h"

#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "upsample_nearest2x";
constexpr uint32_t kWg = 256;
}  // namespace

void upsample_nearest2x(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y) {
  expect_shape(kOp, "x", x, {-1, -1, -1, -1});
  expect_usable(ctx, kOp, "x", x);
  expect_shape(kOp, "y", y, {x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3)});
  expect_usable(ctx, kOp, "y", y);
  expect_dtype(kOp, "y", y, x.dtype);
  expect_disjoint(kOp, "y", y, "x", x);

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("upsample_nearest2x/upsample_nearest2x_") + variant(x.dtype), spec);
  struct {
    uint32_t n, w;
  } push{uint32_t(y.numel()), uint32_t(x.dim(3))};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, kOp);
}

std::vector<float> upsample_nearest2x_ref(const std::vector<float>& x, int64_t planes, int64_t h, int64_t w) {
  std::vector<float> y(size_t(planes * 4 * h * w));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < 2 * h; ++oy)
      for (int64_t ox = 0; ox < 2 * w; ++ox)
        y[size_t((p * 2 * h + oy) * 2 * w + ox)] = x[size_t((p * h + oy / 2) * w + ox / 2)];
  return y;
}

}  // namespace ezivk::ops
