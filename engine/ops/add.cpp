#include "engine/ops/add.h"

#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "add";
constexpr uint32_t kWg = 256;

// Unsigned: three terms below 2^62 each (checked extents and strides) can exceed int64's range.
uint64_t last_b_index(const AddLayout& l) {
  return uint64_t(l.outer - 1) * uint64_t(l.stride_outer) + uint64_t(l.mid - 1) * uint64_t(l.stride_mid) +
         uint64_t(l.inner - 1) * uint64_t(l.stride_inner);
}
}  // namespace

void add(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out, const AddLayout& l,
         float alpha) {
  expect_usable(ctx, kOp, "a", a);
  expect_usable(ctx, kOp, "b", b);
  expect_usable(ctx, kOp, "out", out);
  const std::string op = kOp;
  if (l.outer <= 0 || l.mid <= 0 || l.inner <= 0 || l.outer * l.mid * l.inner != a.numel())
    fail(op + ": layout [" + std::to_string(l.outer) + ", " + std::to_string(l.mid) + ", " + std::to_string(l.inner) +
         "] does not cover a " + shape_string(a.shape));
  for (int64_t s : {l.stride_outer, l.stride_mid, l.stride_inner})
    if (s < 0 || s >= kMaxElements) fail(op + ": b's strides must lie in [0, 2^31), got " + std::to_string(s));
  if (last_b_index(l) >= uint64_t(b.numel()))
    fail(op + ": b " + shape_string(b.shape) + " is too small for the layout's strides (reads element " +
         std::to_string(last_b_index(l)) + ")");
  if (out.shape != a.shape)
    fail(op + ": out must have a's shape " + shape_string(a.shape) + ", got " + shape_string(out.shape));
  expect_dtype(kOp, "b", b, a.dtype);
  expect_dtype(kOp, "out", out, a.dtype);
  const bool in_place = same_bytes(out, a);
  if (!in_place) expect_disjoint(kOp, "out", out, "a", a);
  expect_disjoint(kOp, "out", out, "b", b);

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("add/add_") + variant(a.dtype), spec);
  struct {
    uint32_t n, mid, inner, stride_outer, stride_mid, stride_inner;
    float alpha;
    uint32_t in_place;
  } push;
  push.n = uint32_t(a.numel());
  push.mid = uint32_t(l.mid);
  push.inner = uint32_t(l.inner);
  push.stride_outer = uint32_t(l.stride_outer);
  push.stride_mid = uint32_t(l.stride_mid);
  push.stride_inner = uint32_t(l.stride_inner);
  push.alpha = alpha;
  push.in_place = in_place ? 1u : 0u;
  const Grid g = grid_1d(ctx, uint64_t(a.numel()), kWg);
  // In place, binding 2 is a placeholder the shader never touches; it repeats a so nothing new is tracked.
  const gpu::Access a_access = in_place ? gpu::Access::ReadWrite : gpu::Access::Read;
  rec.dispatch(pl, {bind(a, a_access), bind(b, gpu::Access::Read), bind(out, in_place ? a_access : gpu::Access::Write)},
               push, g.x, g.y, 1, kOp);
}

void add(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& a, const Tensor& b, const Tensor& out, float alpha) {
  add(ctx, rec, a, b, out, AddLayout::same(a.numel()), alpha);
}

std::vector<float> add_ref(const std::vector<float>& a, const std::vector<float>& b, const AddLayout& l, float alpha) {
  std::vector<float> out(a.size());
  size_t i = 0;
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t m = 0; m < l.mid; ++m)
      for (int64_t k = 0; k < l.inner; ++k, ++i)
        out[i] =
            float(double(a[i]) + double(alpha) * b[size_t(o * l.stride_outer + m * l.stride_mid + k * l.stride_inner)]);
  return out;
}

}  // namespace ezivk::ops
