#version 450
//! variants: f32 f16
// GroupNorm (optionally followed by SiLU) over x viewed as [B, C, S]: one workgroup per (batch, group), whose
// C/G channels times S values are contiguous. Statistics in fp32 around a pivot (see moments.glsl); gamma
// and beta are always fp32.
#include "common.glsl"

layout(local_size_x_id = 0) in;
#include "moments.glsl"

layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint instances;       // B * G
  uint groups;          // G
  uint group_channels;  // C / G
  uint spatial;         // S
  float eps;
  uint silu;
} p;

void main() {
  const uint instance = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (instance >= p.instances) return;  // uniform across the workgroup, so no barrier is skipped by some only
  const uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
  const uint n = p.group_channels * p.spatial;
  const uint base = instance * n;
  const uint c_first = (instance % p.groups) * p.group_channels;

  const float pivot = float(x[base]);
  // Four loads issued before their updates: with few workgroups (B * G, often 32) each must keep many
  // reads in flight to approach the memory bandwidth.
  Moments m = moments_empty();
  uint i = t;
  for (; i + 3u * wg < n; i += 4u * wg) {
    const float v0 = float(x[base + i]), v1 = float(x[base + i + wg]);
    const float v2 = float(x[base + i + 2u * wg]), v3 = float(x[base + i + 3u * wg]);
    moments_add(m, v0 - pivot);
    moments_add(m, v1 - pivot);
    moments_add(m, v2 - pivot);
    moments_add(m, v3 - pivot);
  }
  for (; i < n; i += wg) moments_add(m, float(x[base + i]) - pivot);
  m = moments_reduce(m);
  const float rstd = inversesqrt(m.m2 / float(m.n) + p.eps);

  // Walk (channel, position) alongside i without dividing per element.
  uint c = t / p.spatial, s = t % p.spatial;
  const uint dc = wg / p.spatial, ds = wg % p.spatial;
  for (i = t; i < n; i += wg) {
    const float scale = rstd * gamma[c_first + c];
    float v = ((float(x[base + i]) - pivot) - m.mean) * scale + beta[c_first + c];
    if (p.silu != 0u) v = v / (1.0 + exp(-v));
    y[base + i] = STORE_T(v);
    c += dc;
    s += ds;
    if (s >= p.spatial) {
      s -= p.spatial;
      c += 1u;
    }
  }
}
