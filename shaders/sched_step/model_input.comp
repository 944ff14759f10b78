#version 450
//! variants: f32 f16
// The UNet's input from the fp32 latent: y[c·n + i] = scale · x[i] for each of `copies` batch copies (two under
// classifier-free guidance), in the model's storage dtype. scale is the scheduler's model-input scaling.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;      // latent elements
  uint total;  // n · copies
  float scale;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.total) return;
  y[i] = STORE_T(p.scale * x[i % p.n]);
}
