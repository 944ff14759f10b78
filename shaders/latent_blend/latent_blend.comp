#version 450
//! variants: f32
// Editing's latent blend after a scheduler step: x = x·m + bg·(1 − m), the mask m [h·w] shared by every batch item
// and channel of x [B·C, h·w]. fp32 like the latents it touches.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Bg { float bg[]; };
layout(std430, binding = 2) readonly buffer M { float m[]; };
layout(push_constant) uniform P {
  uint n;   // elements of x
  uint hw;  // elements of the mask
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const float w = m[i % p.hw];
  x[i] = x[i] * w + bg[i] * (1.0 - w);
}
