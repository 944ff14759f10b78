#version 450
//! variants: f16 f16_acc16
// Y[b] = A[b]·B[b]ᵀ (+ bias) with VK_KHR_cooperative_matrix fp16 fragments of the shape the device reports
// (TM×TN×TK as specialization constants: 16×16×16 on NVIDIA and AMD, 8×8×8 on lavapipe, 8×8×16 on Intel),
// accumulating in fp32 (variant f16) or fp16 (f16_acc16, for devices whose only shapes accumulate in fp16).
// A 64×64 output tile per workgroup of four subgroups (2×2, each 32×32 = (32/TM)×(32/TN) fragments). A and
// B tiles are staged through shared memory with zero fill, so any M, N, K works; rows are padded by 8 halfs
// against bank conflicts (every fragment load stays 16-byte aligned, as the extension requires). The
// epilogue goes through shared memory so edge tiles are bounds-checked cheaply.
// Requires a fixed subgroup size SG and TM, TN, TK dividing 32 (the host checks).
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

layout(std430, binding = 0) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) readonly buffer B { float16_t bw[]; };
layout(std430, binding = 2) readonly buffer Bias { float16_t bias[]; };
layout(std430, binding = 3) writeonly buffer Y { float16_t y[]; };

layout(push_constant) uniform P {
  uint M, N, K;
  uint lda, ldy;
  uint batch_a, batch_b, batch_y;
  uint has_bias;
  uint off_a, off_y;
} p;

shared float16_t As[BM * LDS];
shared float16_t Bs[BN * LDS];
shared float Cs[BM * LDC];

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = tid / SG;
  const uint sgm = sg / 2, sgn = sg % 2;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint batch = gl_WorkGroupID.z;
  const uint ba = p.off_a + batch * p.batch_a, bb = batch * p.batch_b, by = p.off_y + batch * p.batch_y;

  coopmat<ACC_T, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> acc[FM * FN];
  for (uint i = 0; i < FM * FN; ++i) acc[i] = coopmat<ACC_T, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(0.0);

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint idx = tid; idx < BM * BK; idx += WG) {
      const uint r = idx / BK, c = idx % BK;
      const uint m = m0 + r, k = k0 + c, n = n0 + r;
      As[r * LDS + c] = (m < p.M && k < p.K) ? a[ba + m * p.lda + k] : float16_t(0);
      Bs[r * LDS + c] = (n < p.N && k < p.K) ? bw[bb + n * p.K + k] : float16_t(0);
    }
    barrier();
    for (uint kk = 0; kk < BK; kk += TK) {
      coopmat<float16_t, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA> fa[FM];
      for (uint i = 0; i < FM; ++i)
        coopMatLoad(fa[i], As, (sgm * 32 + i * TM) * LDS + kk, LDS, gl_CooperativeMatrixLayoutRowMajor);
      for (uint j = 0; j < FN; ++j) {
        // B's fragment is K×N; Bs holds it as [n][k], i.e. column-major.
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
  for (uint idx = tid; idx < BM * BN; idx += WG) {
    const uint r = idx / BN, c = idx % BN;
    const uint m = m0 + r, n = n0 + c;
    if (m < p.M && n < p.N)
      y[by + m * p.ldy + n] = float16_t(Cs[r * LDC + c] + (p.has_bias != 0 ? float(bias[n]) : 0.0));
  }
}
