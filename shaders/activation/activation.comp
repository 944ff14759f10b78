#version 450
//! variants: f32 f16
// Unary activations; which one is a push constant (uniform branch), so one pipeline per dtype serves all.
#include "common.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;
  uint kind;  // ops::Activation: 0 SiLU, 1 GELU (erf), 2 quick GELU
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const float v = float(x[i]);
  float r;
  if (p.kind == 0u) {
    r = v / (1.0 + exp(-v));  // exp overflows to inf for v < -88: v / inf = -0, the right limit
  } else if (p.kind == 1u) {
    r = gelu_erf(v);
  } else {
    r = v / (1.0 + exp(-1.702 * v));
  }
  y[i] = STORE_T(r);
}
