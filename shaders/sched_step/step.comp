#version 450
//! variants: f32 f16
// One scheduler step for every latent element, applying the coefficients engine/sched computed on the host
// (StepCoefficients, packed by sched::pack_step_coefficients in the layout of engine/ops/sched_step_layout.h), fused with classifier-free guidance:
//   m      = guided ? m_u + g·(m_c − m_u) : m        (model output batch: uncond items first, then cond)
//   x̂0     = a·x + b·m, clamped to ±r when asked
//   x_next = s·x + k·m + c·x̂0 + e·z + Σ_j h_j·H_j
//   then H_slot = ws·x + wm·m + wx·x̂0 for each write (history read before it is written).
// Latent, noise, history and x̂0 are fp32 whatever the model's dtype: 50 steps of fp16 rounding would drift.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer M { STORE_T m[]; };
layout(std430, binding = 2) readonly buffer Z { float z[]; };
layout(std430, binding = 3) buffer H { float h[]; };
layout(std430, binding = 4) writeonly buffer X0 { float x0[]; };
layout(std430, binding = 5) readonly buffer C { float c[]; };
layout(push_constant) uniform P {
  uint n;         // latent elements (B·C·H·W)
  uint guided;    // 1: m holds [uncond, cond] halves of 2n
  float guidance;
  uint slots;     // history slots in h (each n floats)
  uint has_noise;
} p;

// Coefficient layout (must match pack_step_coefficients).
const uint X0_SAMPLE = 0, X0_MODEL = 1, CLIP = 2, CLIP_RANGE = 3, SAMPLE = 4, MODEL = 5, X0C = 6, NOISE = 7;
const uint HIST = 8, MAX_SLOTS = 8, NWRITES = 16, WRITES = 17, MAX_WRITES = 5;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const float xi = x[i];
  float mi;
  if (p.guided != 0u) {
    const float mu = float(m[i]), mc = float(m[p.n + i]);
    mi = mu + p.guidance * (mc - mu);
  } else {
    mi = float(m[i]);
  }
  float pred = c[X0_SAMPLE] * xi + c[X0_MODEL] * mi;
  if (c[CLIP] != 0.0) pred = clamp(pred, -c[CLIP_RANGE], c[CLIP_RANGE]);
  float next = c[SAMPLE] * xi + c[MODEL] * mi + c[X0C] * pred;
  if (p.has_noise != 0u) next += c[NOISE] * z[i];
  for (uint j = 0u; j < p.slots && j < MAX_SLOTS; ++j) {
    const float coef = c[HIST + j];
    if (coef != 0.0) next += coef * h[j * p.n + i];
  }
  const uint writes = min(uint(c[NWRITES]), MAX_WRITES);
  for (uint w = 0u; w < writes; ++w) {
    const uint base = WRITES + 4u * w;
    const uint slot = uint(c[base]);
    if (slot < p.slots) h[slot * p.n + i] = c[base + 1u] * xi + c[base + 2u] * mi + c[base + 3u] * pred;
  }
  x[i] = next;
  x0[i] = pred;
}
