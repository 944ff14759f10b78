#include "engine/ops/concat_channels.h"

#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "concat_channels";
constexpr uint32_t kWg = 256;
}  // namespace

void concat_channels(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& y) {
  const std::string op = kOp;
  if (a.rank() < 2) fail(op + ": a must have rank >= 2 ([B, C, ...]), got " + shape_string(a.shape));
  expect_usable(ctx, kOp, "a", a);
  expect_usable(ctx, kOp, "b", b);
  std::vector<int64_t> want_b = a.shape;
  if (b.rank() == a.rank()) want_b[1] = b.dim(1);
  if (b.shape != want_b)
    fail(op + ": b must match a " + shape_string(a.shape) + " in every dimension but channels, got " +
         shape_string(b.shape));
  std::vector<int64_t> want_y = a.shape;
  want_y[1] = a.dim(1) + b.dim(1);
  expect_usable(ctx, kOp, "y", y);
  if (y.shape != want_y) fail(op + ": y must be " + shape_string(want_y) + ", got " + shape_string(y.shape));
  expect_dtype(kOp, "b", b, a.dtype);
  expect_dtype(kOp, "y", y, a.dtype);
  expect_disjoint(kOp, "y", y, "a", a);
  expect_disjoint(kOp, "y", y, "b", b);

  const int64_t batch = a.dim(0);
  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("concat_channels/concat_channels_") + variant(a.dtype), spec);
  struct {
    uint32_t n, a_block, b_block;
  } push{uint32_t(y.numel()), uint32_t(a.numel() / batch), uint32_t(b.numel() / batch)};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(a, gpu::Access::Read), bind(b, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x,
               g.y, 1, kOp);
}

std::vector<float> concat_channels_ref(const std::vector<float>& a, const std::vector<float>& b, int64_t batch,
                                       int64_t c1, int64_t c2, int64_t spatial) {
  std::vector<float> y;
  y.reserve(a.size() + b.size());
  for (int64_t n = 0; n < batch; ++n) {
    y.insert(y.end(), a.begin() + n * c1 * spatial, a.begin() + (n + 1) * c1 * spatial);
    y.insert(y.end(), b.begin() + n * c2 * spatial, b.begin() + (n + 1) * c2 * spatial);
  }
  return y;
}

}  // namespace ezivk::ops
