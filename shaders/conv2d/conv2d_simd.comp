#version 450
//! variants: f32 f16 f16_pack
// 2-D convolution, NCHW, as an implicit GEMM: M = output pixels, N = output channels, K = Cin·KH·KW, the
// input patch gathered while iterating K (no im2col buffer). Each workgroup owns TM consecutive output
// pixels (uniform, so input reads and padding checks are scalar) and WG·TN output channels, lane t owning
// channels t, t+WG, ... . Weights [Cout, Cin, KH, KW] as stored in the checkpoint, or [Cout, KH, KW, Cin]
// (prepared once at load time), where each lane reads its weights contiguously. fp32 accumulation.
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 8;
layout(constant_id = 2) const uint TN = 4;

layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
#if defined(VARIANT_PACK)
// OHWI fp16 weights with an even Cin, read as 32-bit words holding two input channels: CPU drivers pay per
// load instruction, so this halves the weight loads.
layout(std430, binding = 1) readonly buffer Wt { uint w2[]; };
#else
layout(std430, binding = 1) readonly buffer Wt { STORE_T w[]; };
#endif
layout(std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout(std430, binding = 3) writeonly buffer Y { STORE_T y[]; };

layout(push_constant) uniform P {
  uint Cin, H, W, Cout, OH, OW;
  uint KH, KW, stride;
  int pad_t, pad_l;
  uint has_bias;
  uint w_ci_stride, w_tap_stride;  // OIHW (checkpoint): taps, 1; OHWI (prepared): 1, Cin
} p;

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint lid = gl_LocalInvocationID.x;
  const uint P = p.OH * p.OW;
  const uint m0 = gl_WorkGroupID.y * TM;
  const uint n0 = gl_WorkGroupID.x * WG * TN + lid;
  const uint b = gl_WorkGroupID.z;
  const uint K = p.Cin * p.KH * p.KW;

  int iy0[TM], ix0[TM];
  [[unroll]] for (uint i = 0; i < TM; ++i) {
    const uint m = min(m0 + i, P - 1);
    iy0[i] = int((m / p.OW) * p.stride) - p.pad_t;
    ix0[i] = int((m % p.OW) * p.stride) - p.pad_l;
  }
  uint wrow[TN];  // element index of each lane channel's weight row
  [[unroll]] for (uint j = 0; j < TN; ++j) wrow[j] = min(n0 + j * WG, p.Cout - 1) * K;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  // Kernel taps outermost: each pixel's input offset and padding mask are computed once per tap, so the
  // hot loop over input channels is pure loads and FMAs.
  const uint plane = p.H * p.W, taps = p.KH * p.KW;
  const uint xbase = b * p.Cin * plane;
  for (uint ky = 0; ky < p.KH; ++ky) {
    for (uint kx = 0; kx < p.KW; ++kx) {
      uint off[TM];
      float mask[TM];
      [[unroll]] for (uint i = 0; i < TM; ++i) {
        const int iy = iy0[i] + int(ky), ix = ix0[i] + int(kx);
        const bool inside = iy >= 0 && ix >= 0 && iy < int(p.H) && ix < int(p.W);
        off[i] = xbase + (inside ? uint(iy) * p.W + uint(ix) : 0u);
        mask[i] = inside ? 1.0 : 0.0;
      }
      const uint tap = ky * p.KW + kx;
#if defined(VARIANT_PACK)
      for (uint ci = 0; ci < p.Cin; ci += 2) {
        float a0[TM], a1[TM];
        [[unroll]] for (uint i = 0; i < TM; ++i) {
          a0[i] = mask[i] * float(x[off[i] + ci * plane]);
          a1[i] = mask[i] * float(x[off[i] + (ci + 1) * plane]);
        }
        const uint k2 = (tap * p.Cin + ci) / 2;
        [[unroll]] for (uint j = 0; j < TN; ++j) {
          const vec2 bv = unpackHalf2x16(w2[wrow[j] / 2 + k2]);
          [[unroll]] for (uint i = 0; i < TM; ++i) acc[i][j] = fma(a1[i], bv.y, fma(a0[i], bv.x, acc[i][j]));
        }
      }
#else
      for (uint ci = 0; ci < p.Cin; ++ci) {
        float av[TM];
        [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = mask[i] * float(x[off[i] + ci * plane]);
        const uint k = ci * p.w_ci_stride + tap * p.w_tap_stride;
        [[unroll]] for (uint j = 0; j < TN; ++j) {
          const float bv = float(w[wrow[j] + k]);
          [[unroll]] for (uint i = 0; i < TM; ++i) acc[i][j] = fma(av[i], bv, acc[i][j]);
        }
      }
#endif
    }
  }

  [[unroll]] for (uint j = 0; j < TN; ++j) {
    const uint n = n0 + j * WG;
    if (n >= p.Cout) continue;
    const float bsum = p.has_bias != 0 ? float(bias[n]) : 0.0;
    const uint base = (b * p.Cout + n) * P;
    [[unroll]] for (uint i = 0; i < TM; ++i)
      if (m0 + i < P) y[base + m0 + i] = STORE_T(acc[i][j] + bsum);
  }
}
