#include "engine/ops/geglu.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "geglu";
constexpr uint32_t kWg = 256;
}  // namespace

void geglu(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y) {
  if (x.rank() < 1) fail(std::string(kOp) + ": x must have rank >= 1, got " + shape_string(x.shape));
  expect_usable(ctx, kOp, "x", x);
  if (x.dim(-1) % 2 != 0) fail(std::string(kOp) + ": x's last dimension must be even, got " + shape_string(x.shape));
  std::vector<int64_t> want = x.shape;
  want.back() /= 2;
  expect_usable(ctx, kOp, "y", y);
  if (y.shape != want) fail(std::string(kOp) + ": y must be " + shape_string(want) + ", got " + shape_string(y.shape));
  expect_dtype(kOp, "y", y, x.dtype);
  expect_disjoint(kOp, "y", y, "x", x);

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("geglu/geglu_") + variant(x.dtype), spec);
  const uint64_t d = uint64_t(want.back()), rows = uint64_t(y.numel()) / d, es = dtype_bytes(x.dtype);
  const uint64_t run = rows_per_binding(ctx, kOp, {2 * d * es, d * es}, rows);
  for (uint64_t r0 = 0; r0 < rows; r0 += run) {
    const uint64_t n = std::min(run, rows - r0);
    const AlignedView xv = aligned_view(ctx, x.data.sub(r0 * 2 * d * es, n * 2 * d * es), es);
    const AlignedView yv = aligned_view(ctx, y.data.sub(r0 * d * es, n * d * es), es);
    struct {
      uint32_t n, d, x_off, y_off;
    } push{uint32_t(n * d), uint32_t(d), xv.elements, yv.elements};
    const Grid g = grid_1d(ctx, n * d, kWg);
    rec.dispatch(pl, {{xv.slice, gpu::Access::Read}, {yv.slice, gpu::Access::Write}}, push, g.x, g.y, 1, kOp);
  }
}

std::vector<float> geglu_ref(const std::vector<float>& x, int64_t rows, int64_t d) {
  std::vector<float> y(size_t(rows * d));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < d; ++c) {
      const double h = x[size_t(r * 2 * d + c)], g = x[size_t(r * 2 * d + d + c)];
      y[size_t(r * d + c)] = float(h * 0.5 * g * std::erfc(-g / std::sqrt(2.0)));
    }
  return y;
}

}  // namespace ezivk::ops
