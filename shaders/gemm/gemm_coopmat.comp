#version 450
//! variants: f16
// Y[b] = A[b]·B[b]ᵀ (+ bias) with VK_KHR_cooperative_matrix: 16×16×16 fp16 fragments accumulating in fp32.
// A 64×64 output tile per workgroup of four subgroups (2×2, each 32×32 = 2×2 fragments). A and B tiles are
// staged through shared memory with zero fill, so any M, N, K works; rows are padded by 8 halfs against
// bank conflicts. The epilogue goes through shared memory so edge tiles are bounds-checked cheaply.
// Requires a fixed subgroup size (the host passes it as SG); chosen only when the device reports the shape.
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#include "common.glsl"

layout(local_size_x_id = 0) in;  // 4 × SG
layout(constant_id = 1) const uint SG = 32;

const uint BM = 64, BN = 64, BK = 32, LDS = BK + 8, LDC = BN + 4;

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

  coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator> acc[2][2];
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) acc[i][j] = coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>(0.0);

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint idx = tid; idx < BM * BK; idx += WG) {
      const uint r = idx / BK, c = idx % BK;
      const uint m = m0 + r, k = k0 + c, n = n0 + r;
      As[r * LDS + c] = (m < p.M && k < p.K) ? a[ba + m * p.lda + k] : float16_t(0);
      Bs[r * LDS + c] = (n < p.N && k < p.K) ? bw[bb + n * p.K + k] : float16_t(0);
    }
    barrier();
    for (uint kk = 0; kk < BK; kk += 16) {
      coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> fa[2];
      coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> fb[2];
      for (uint i = 0; i < 2; ++i)
        coopMatLoad(fa[i], As, (sgm * 32 + i * 16) * LDS + kk, LDS, gl_CooperativeMatrixLayoutRowMajor);
      // B's fragment is K×N; Bs holds it as [n][k], i.e. column-major.
      for (uint j = 0; j < 2; ++j)
        coopMatLoad(fb[j], Bs, (sgn * 32 + j * 16) * LDS + kk, LDS, gl_CooperativeMatrixLayoutColumnMajor);
      for (uint i = 0; i < 2; ++i)
        for (uint j = 0; j < 2; ++j) acc[i][j] = coopMatMulAdd(fa[i], fb[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j)
      coopMatStore(acc[i][j], Cs, (sgm * 32 + i * 16) * LDC + sgn * 32 + j * 16, LDC, gl_CooperativeMatrixLayoutRowMajor);
  barrier();
  for (uint idx = tid; idx < BM * BN; idx += WG) {
    const uint r = idx / BN, c = idx % BN;
    const uint m = m0 + r, n = n0 + c;
    if (m < p.M && n < p.N)
      y[by + m * p.ldy + n] = float16_t(Cs[r * LDC + c] + (p.has_bias != 0 ? float(bias[n]) : 0.0));
  }
}
