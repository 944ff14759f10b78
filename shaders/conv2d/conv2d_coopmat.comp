#version 450
//! variants: f16 f16_acc16
// 2-D convolution as an implicit GEMM on cooperative matrices (the device's TM×TN×TK fp16 shape, fp32 or
// fp16 accumulators by variant, as gemm_coopmat): M = output pixels,
// N = output channels, K = Cin·KH·KW. The tile loop of gemm_coopmat, with the A tile gathered from the
// NCHW input (zero padding included) while it is staged, and an epilogue that writes NCHW. Weights are
// [Cout, K] in either OIHW or OHWI order; the K index is decoded to (channel, tap) to match.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#include "common.glsl"
#include "coopmat.glsl"

layout(local_size_x_id = 0) in;  // 4 × SG
layout(constant_id = 1) const uint SG = 32;
layout(constant_id = 2) const uint TM = 16;
layout(constant_id = 3) const uint TN = 16;
layout(constant_id = 4) const uint TK = 16;

const uint BM = 64, BN = 64, BK = 32, LDS = BK + 8, LDC = BN + 4;
const uint FM = 32 / TM, FN = 32 / TN;  // fragments per subgroup along M and N

layout(std430, binding = 0) readonly buffer X { float16_t x[]; };
layout(std430, binding = 1) readonly buffer Wt { float16_t w[]; };
layout(std430, binding = 2) readonly buffer Bias { float16_t bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float16_t y[]; };

layout(push_constant) uniform P {
  uint Cin, H, W, Cout, OH, OW;
  uint KH, KW, stride;
  int pad_t, pad_l;
  uint has_bias;
  uint w_ci_stride, w_tap_stride;  // OIHW: taps, 1; OHWI: 1, Cin
} p;

shared float16_t As[BM * LDS];
shared float16_t Bs[BN * LDS];
shared float Cs[BM * LDC];

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = tid / SG;
  const uint sgm = sg / 2, sgn = sg % 2;
  const uint P = p.OH * p.OW, taps = p.KH * p.KW, K = p.Cin * taps;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint b = gl_WorkGroupID.z;
  const bool ohwi = p.w_ci_stride == 1u;

  coopmat<ACC_T, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> acc[FM * FN];
  for (uint i = 0; i < FM * FN; ++i) acc[i] = coopmat<ACC_T, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(0.0);

  for (uint k0 = 0; k0 < K; k0 += BK) {
    for (uint idx = tid; idx < BM * BK; idx += WG) {
      const uint r = idx / BK, c = idx % BK;
      const uint m = m0 + r, k = k0 + c, n = n0 + r;
      float16_t av = float16_t(0);
      if (m < P && k < K) {
        const uint ci = ohwi ? k % p.Cin : k / taps;
        const uint tap = ohwi ? k / p.Cin : k % taps;
        const int iy = int((m / p.OW) * p.stride) - p.pad_t + int(tap / p.KW);
        const int ix = int((m % p.OW) * p.stride) - p.pad_l + int(tap % p.KW);
        if (iy >= 0 && ix >= 0 && iy < int(p.H) && ix < int(p.W))
          av = x[((b * p.Cin + ci) * p.H + uint(iy)) * p.W + uint(ix)];
      }
      As[r * LDS + c] = av;
      Bs[r * LDS + c] = (n < p.Cout && k < K) ? w[n * K + k] : float16_t(0);
    }
    barrier();
    for (uint kk = 0; kk < BK; kk += TK) {
      coopmat<float16_t, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA> fa[FM];
      for (uint i = 0; i < FM; ++i)
        coopMatLoad(fa[i], As, (sgm * 32 + i * TM) * LDS + kk, LDS, gl_CooperativeMatrixLayoutRowMajor);
      for (uint j = 0; j < FN; ++j) {
        coopmat<float16_t, gl_ScopeSubgroup, TK, TN, gl_MatrixUseB> fb;
        coopMatLoad(fb, Bs, (sgn * 32 + j * TN) * LDS + kk, LDS, gl_CooperativeMatrixLayoutColumnMajor);
        for (uint i = 0; i < FM; ++i) acc[i * FN + j] = coopMatMulAdd(fa[i], fb, acc[i * FN + j]);
      }
    }
    barrier();
  }

  for (uint i = 0; i < FM; ++i)
    for (uint j = 0; j < FN; ++j) {
      coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> c =
          coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(acc[i * FN + j]);
      coopMatStore(c, Cs, (sgm * 32 + i * TM) * LDC + sgn * 32 + j * TN, LDC, gl_CooperativeMatrixLayoutRowMajor);
    }
  barrier();
  // Consecutive threads take consecutive pixels of one channel: NCHW stores stay contiguous.
  for (uint idx = tid; idx < BM * BN; idx += WG) {
    const uint c = idx / BM, r = idx % BM;
    const uint m = m0 + r, n = n0 + c;
    if (m < P && n < p.Cout)
      y[(b * p.Cout + n) * P + m] = float16_t(Cs[r * LDC + c] + (p.has_bias != 0 ? float(bias[n]) : 0.0));
  }
}
