#version 450
//! variants: f32 f16
// Nearest-neighbour 2x upsampling of x [B, C, H, W] to y [B, C, 2H, 2W]: one invocation per output element,
// so writes are contiguous; each input element is read by four neighbours (from cache).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // output elements
  uint w;  // input width
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint out_row = i / (2u * p.w), col = i - out_row * (2u * p.w);
  // Output row r of plane bc is bc*2H + oy; its input row bc*H + oy/2 is exactly r/2.
  y[i] = x[(out_row >> 1) * p.w + (col >> 1)];
}
