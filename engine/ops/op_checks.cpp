#include "engine/ops/op_checks.h"

#include <cmath>

#include <string>

#include "engine/util/error.h"

namespace ezivk::ops {

void expect_usable(const gpu::Context& ctx, const char* op, const char* what, const Tensor& t) {
  expect_fits(op, what, t);
  if (t.numel() >= kMaxElements)
    fail(std::string(op) + ": " + what + " " + shape_string(t.shape) + " has more than 2^31 elements");
  if (t.dtype == DType::F16 && !ctx.fp16())
    fail(std::string(op) + ": " + what + " is f16 but this device (or EZIVK_FORCE_FP32) allows only f32");
}

gpu::Slice used_bytes(const Tensor& t) { return t.data.sub(0, t.bytes()); }

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.data.buffer == b.data.buffer && a.data.offset == b.data.offset && a.bytes() == b.bytes();
}

bool overlap(const Tensor& a, const Tensor& b) { return used_bytes(a).overlaps(used_bytes(b)); }

void expect_disjoint(const char* op, const char* out_name, const Tensor& out, const char* in_name, const Tensor& in) {
  if (overlap(out, in)) fail(std::string(op) + ": " + out_name + " must not share memory with " + in_name);
}

void expect_same_layout_output(const gpu::Context& ctx, const char* op, const Tensor& x, const Tensor& y) {
  expect_usable(ctx, op, "y", y);
  if (y.shape != x.shape)
    fail(std::string(op) + ": y must have x's shape " + shape_string(x.shape) + ", got " + shape_string(y.shape));
  expect_dtype(op, "y", y, x.dtype);
  expect_disjoint(op, "y", y, "x", x);
}

void expect_norm_params(const char* op, const Tensor& gamma, const Tensor& beta, int64_t channels, float eps) {
  if (!(eps > 0.f) || !std::isfinite(eps)) fail(std::string(op) + ": eps must be a positive finite number");
  expect_shape(op, "gamma", gamma, {channels});
  expect_dtype(op, "gamma", gamma, DType::F32);
  expect_shape(op, "beta", beta, {channels});
  expect_dtype(op, "beta", beta, DType::F32);
}

}  // namespace ezivk::ops
