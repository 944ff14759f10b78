#version 450
//! variants: f32 f16
// As gemm_simd with B as [N, K], for K % 4 == 0 and 4-aligned row strides: A and B are read as 4-vectors
// along K (and off_a % 4 == 0), which quarters the loop and bounds-check overhead on SIMD CPU drivers.
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8;
layout(constant_id = 2) const uint TN = 4;

// fp16 rows are read as uvec2 (four halves in two 32-bit words): on CPU drivers every load instruction costs
// the same per component, so 32-bit words halve the loads of an f16vec4.
#if defined(VARIANT_F16)
layout(std430, binding = 0) readonly buffer A { uvec2 a[]; };
layout(std430, binding = 1) readonly buffer B { uvec2 bw[]; };
vec4 load4(uvec2 u) { return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y)); }
#else
layout(std430, binding = 0) readonly buffer A { vec4 a[]; };
layout(std430, binding = 1) readonly buffer B { vec4 bw[]; };
vec4 load4(vec4 v) { return v; }
#endif
layout(std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { STORE_T y[]; };

layout(push_constant) uniform P {
  uint M, N, K;
  uint lda, ldy;
  uint batch_a, batch_b, batch_y;
  uint has_bias;
  uint off_a, off_y;  // element offsets of the views inside their bound ranges
} p;

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint lid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.y * TM;
  const uint n0 = gl_WorkGroupID.x * WG * TN + lid;
  const uint batch = gl_WorkGroupID.z;
  const uint K4 = p.K / 4;
  const uint ba = (p.off_a + batch * p.batch_a) / 4, bb = batch * p.batch_b / 4, by = p.off_y + batch * p.batch_y;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
  uint nc[TN];
  [[unroll]] for (uint j = 0; j < TN; ++j) nc[j] = bb + min(n0 + j * WG, p.N - 1) * K4;
  uint mr[TM];
  [[unroll]] for (uint i = 0; i < TM; ++i) mr[i] = ba + min(m0 + i, p.M - 1) * (p.lda / 4);

  for (uint k = 0; k < K4; ++k) {
    vec4 av[TM];
    [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = load4(a[mr[i] + k]);
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      const vec4 bv = load4(bw[nc[j] + k]);
      [[unroll]] for (uint i = 0; i < TM; ++i) acc[i][j] += dot(av[i], bv);
    }
  }

  [[unroll]] for (uint j = 0; j < TN; ++j) {
    const uint n = n0 + j * WG;
    if (n >= p.N) continue;
    const float bsum = p.has_bias != 0 ? float(bias[n]) : 0.0;
    [[unroll]] for (uint i = 0; i < TM; ++i) {
      const uint m = m0 + i;
      if (m < p.M) y[by + m * p.ldy + n] = STORE_T(acc[i][j] + bsum);
    }
  }
}
