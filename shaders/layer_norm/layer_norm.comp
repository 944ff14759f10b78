#version 450
//! variants: f32 f16
// LayerNorm over the last dimension of x [rows, C]: one workgroup per row. Statistics in fp32 around a pivot
// (see moments.glsl); gamma and beta are always fp32.
#include "common.glsl"

layout(local_size_x_id = 0) in;
#include "moments.glsl"

layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint rows;
  uint cols;
  float eps;
} p;

void main() {
  const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;  // uniform across the workgroup
  const uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
  const uint base = row * p.cols;

  const float pivot = float(x[base]);
  Moments m = moments_empty();
  for (uint i = t; i < p.cols; i += wg) moments_add(m, float(x[base + i]) - pivot);
  m = moments_reduce(m);
  const float rstd = inversesqrt(m.m2 / float(m.n) + p.eps);

  for (uint i = t; i < p.cols; i += wg)
    y[base + i] = STORE_T(((float(x[base + i]) - pivot) - m.mean) * rstd * gamma[i] + beta[i]);
}
