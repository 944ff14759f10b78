#include "engine/ops/transpose.h"

#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "transpose";
constexpr uint32_t kTile = 16;  // must match the shader's tile
}  // namespace

void transpose(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y) {
  if (x.rank() != 2 && x.rank() != 3) fail(std::string(kOp) + ": x must be [B, R, C] or [R, C], got " + shape_string(x.shape));
  const int64_t B = x.rank() == 3 ? x.dim(0) : 1, R = x.dim(-2), C = x.dim(-1);
  if (x.rank() == 3) expect_shape(kOp, "y", y, {B, C, R});
  else expect_shape(kOp, "y", y, {C, R});
  expect_usable(ctx, kOp, "x", x);
  expect_usable(ctx, kOp, "y", y);
  expect_dtype(kOp, "y", y, x.dtype);
  expect_disjoint(kOp, "y", y, "x", x);
  if (x.numel() == 0) return;

  const auto& pl = ctx.pipeline(std::string("transpose/transpose_") + variant(x.dtype));
  struct {
    uint32_t rows, cols, tiles_c;
  } push{uint32_t(R), uint32_t(C), ceil_div(uint64_t(C), kTile)};
  const uint64_t tiles = uint64_t(ceil_div(uint64_t(R), kTile)) * push.tiles_c;
  if (tiles > ctx.caps().max_workgroup_count[0] || uint64_t(B) > ctx.caps().max_workgroup_count[1])
    fail(std::string(kOp) + ": " + shape_string(x.shape) + " is too large for one dispatch on this device");
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, uint32_t(tiles), uint32_t(B), 1, kOp);
}

std::vector<float> transpose_ref(const std::vector<float>& x, int64_t batch, int64_t rows, int64_t cols) {
  std::vector<float> y(x.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) y[size_t((b * cols + c) * rows + r)] = x[size_t((b * rows + r) * cols + c)];
  return y;
}

}  // namespace ezivk::ops
