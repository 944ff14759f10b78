#version 450
//! variants: f32 f16
// Y[b, m, n] = sum_k A[b, m, k] · B[n, k] (+ bias[n]) — the register-tiled kernel for SIMD CPUs (lavapipe)
// and any device without shared-memory advantages. Each workgroup owns TM rows (uniform across the
// workgroup, so A loads are broadcasts) and WG·TN columns; invocation t owns columns t, t+WG, ... so that
// neighbouring lanes touch neighbouring columns. fp32 accumulation always.
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
// K of any size and any row strides; gemm_simd4 is the faster path when K and strides are multiples of 4.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8;
layout(constant_id = 2) const uint TN = 4;

layout(std430, binding = 0) readonly buffer A { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer B { STORE_T bw[]; };
layout(std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { STORE_T y[]; };

layout(push_constant) uniform P {
  uint M, N, K;
  uint lda, ldy;       // row strides of A and Y (elements)
  uint batch_a, batch_b, batch_y;  // batch strides (elements; 0 = shared)
  uint has_bias;
  uint off_a, off_y;  // element offsets of the views inside their bound ranges
} p;

// B is [N, K]: the Linear weight layout ([out, in]), used as stored in the checkpoint.
#define LOAD_B(k, n) float(bw[bb + (n) * p.K + (k)])

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint lid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.y * TM;
  const uint n0 = gl_WorkGroupID.x * WG * TN + lid;
  const uint batch = gl_WorkGroupID.z;
  const uint ba = p.off_a + batch * p.batch_a, bb = batch * p.batch_b, by = p.off_y + batch * p.batch_y;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  uint nc[TN];
  [[unroll]] for (uint j = 0; j < TN; ++j) nc[j] = min(n0 + j * WG, p.N - 1);  // clamped: edge lanes compute, never store
  uint mr[TM];
  [[unroll]] for (uint i = 0; i < TM; ++i) mr[i] = ba + min(m0 + i, p.M - 1) * p.lda;

  for (uint k = 0; k < p.K; ++k) {
    float av[TM];
    [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = float(a[mr[i] + k]);
    [[unroll]] for (uint j = 0; j < TN; ++j) {
      const float bv = LOAD_B(k, nc[j]);
      [[unroll]] for (uint i = 0; i < TM; ++i) acc[i][j] = fma(av[i], bv, acc[i][j]);
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
