#version 450
//! variants: f32 f16
// Nearest-neighbour resize of x [B, C, H, W] to y [B, C, OH, OW] with PyTorch's index rule for
// F.interpolate(size=...): src = min(floor(dst · (in / out)), in − 1), the ratio and product in fp32.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // output elements
  uint h, w, oh, ow;
  float sh, sw;  // in / out, computed on the host in fp32
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint ox = i % p.ow, rest = i / p.ow, oy = rest % p.oh, plane = rest / p.oh;
  const uint sy = min(uint(floor(float(oy) * p.sh)), p.h - 1u);
  const uint sx = min(uint(floor(float(ox) * p.sw)), p.w - 1u);
  y[i] = x[(plane * p.h + sy) * p.w + sx];
}
