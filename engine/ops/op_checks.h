#pragma once
// Checks shared by the element-wise and normalisation ops, each throwing an Error that names the op and the
// argument, plus the binding of a tensor's exact byte range (so barriers track only the bytes an op touches).
#include <cstdint>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// The shaders index elements with 32-bit unsigned integers; 2^31 leaves headroom for the grid's overshoot.
inline constexpr int64_t kMaxElements = int64_t(1) << 31;

// expect_fits, plus: f16 needs the device's fp16 support, and the element count must be indexable.
void expect_usable(const gpu::Context& ctx, const char* op, const char* what, const Tensor& t);

// The bytes a tensor occupies (its slice may be longer).
gpu::Slice used_bytes(const Tensor& t);
bool same_bytes(const Tensor& a, const Tensor& b);
bool overlap(const Tensor& a, const Tensor& b);

// Throws unless `out` shares no byte with `in`: the kernels read `in` while other invocations write `out`.
void expect_disjoint(const char* op, const char* out_name, const Tensor& out, const char* in_name, const Tensor& in);

// y is usable, has x's shape and dtype, and shares no byte with x: the element-wise and norm ops' output.
void expect_same_layout_output(const gpu::Context& ctx, const char* op, const Tensor& x, const Tensor& y);

// Norm parameters: eps positive and finite, gamma and beta fp32 [channels].
void expect_norm_params(const char* op, const Tensor& gamma, const Tensor& beta, int64_t channels, float eps);

inline gpu::Bind bind(const Tensor& t, gpu::Access access) { return {used_bytes(t), access}; }

}  // namespace ezivk::ops
