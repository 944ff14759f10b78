#include "engine/ops/upsample_nearest.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "upsample_nearest";
constexpr uint32_t kWg = 256;

int64_t src_index(int64_t dst, int64_t in, int64_t out) {
  const float scale = float(in) / float(out);
  return std::min<int64_t>(int64_t(std::floor(float(dst) * scale)), in - 1);
}
}  // namespace

void upsample_nearest(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y) {
  expect_shape(kOp, "x", x, {-1, -1, -1, -1});
  expect_shape(kOp, "y", y, {x.dim(0), x.dim(1), -1, -1});
  if (y.dim(2) < 1 || y.dim(3) < 1) fail(std::string(kOp) + ": y must not be empty, got " + shape_string(y.shape));
  expect_usable(ctx, kOp, "x", x);
  expect_usable(ctx, kOp, "y", y);
  expect_dtype(kOp, "y", y, x.dtype);
  expect_disjoint(kOp, "y", y, "x", x);
  if (x.numel() == 0) fail(std::string(kOp) + ": x must not be empty");

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("upsample_nearest/upsample_nearest_") + variant(x.dtype), spec);
  struct {
    uint32_t n, h, w, oh, ow;
    float sh, sw;
  } push{uint32_t(y.numel()), uint32_t(x.dim(2)), uint32_t(x.dim(3)), uint32_t(y.dim(2)), uint32_t(y.dim(3)),
         float(x.dim(2)) / float(y.dim(2)), float(x.dim(3)) / float(y.dim(3))};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, kOp);
}

std::vector<float> upsample_nearest_ref(const std::vector<float>& x, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                        int64_t ow) {
  std::vector<float> y(size_t(planes * oh * ow));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        y[size_t((p * oh + oy) * ow + ox)] = x[size_t((p * h + src_index(oy, h, oh)) * w + src_index(ox, w, ow))];
  return y;
}

}  // namespace ezivk::ops
