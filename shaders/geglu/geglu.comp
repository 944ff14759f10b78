#version 450
//! variants: f32 f16
// GEGLU as in diffusers: each row of x [rows, 2D] is [hidden | gate]; y [rows, D] = hidden * GELU_erf(gate).
#include "common.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // rows * D
  uint d;
  uint x_off, y_off;  // elements before row 0 in the bound slices (a run of rows of a larger tensor)
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint row = i / p.d;
  const uint hidden = p.x_off + i + row * p.d;  // row * 2D + (i - row * D)
  y[p.y_off + i] = STORE_T(float(x[hidden]) * gelu_erf(float(x[hidden + p.d])));
}
