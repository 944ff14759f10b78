#include "engine/ops/geglu.h"

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
  struct {
    uint32_t n, d;
  } push{uint32_t(y.numel()), uint32_t(want.back())};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, kOp);
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
