#version 450
//! variants: f32 f16
// y[i] = a * x[i] + b. The smallest real kernel: used by the core's tests and as a bandwidth probe.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P { uint n; float a; float b; } p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i < p.n) y[i] = STORE_T(p.a * float(x[i]) + p.b);
}
