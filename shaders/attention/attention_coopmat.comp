#version 450
//! variants: f16
// Flash attention (FlashAttention-2 shape) with VK_KHR_cooperative_matrix, same contract as attention.comp
// (bindings, push constants, views, causal mask, w2, capture statistics), for fp16 storage and D = 64.
// Fragments have the shape the device reports (TM×TN×TK as specialization constants: 16×16×16 on NVIDIA and
// AMD, 8×8×8 on lavapipe), always accumulating in fp32: fp16 scores would overflow.
// One workgroup of NSG = WG / SG subgroups per (batch·head, block of BR = 64 queries); each subgroup owns
// RS = BR / NSG query rows (RS / TM fragment rows). Per block of BC keys (64, or 32 where shared memory is
// 32 KiB): S = Q·Kᵀ in fp32 (Q stays in registers as fragments, K is staged in shared memory), S goes to
// shared memory, one thread per query row runs the online softmax in fp32 (running max m, sum l, rescale
// factor exp2(m_old − m_new)) and writes P as fp16; then P·V (V staged where K was) into fresh fp32
// fragments, stored over S, and every thread adds its share to the output accumulator it keeps in registers
// after rescaling it. Scores are scaled in fp32 (qscale, and w2 for the second source) so the fp16 operands
// are the stored values exactly; the second source's w2 on the values is folded into P. Out-of-range keys
// are zero-filled and masked; rows past Nq compute a duplicate of the last query and write nothing.
// Requires a fixed subgroup size, WG a multiple of 64 with 64 <= WG, RS a multiple of TM, TN and TK dividing
// BC (the host checks).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#include "common.glsl"

layout(local_size_x_id = 0) in;  // max(64, 4 × SG)
layout(constant_id = 1) const uint SG = 32;
layout(constant_id = 2) const uint TM = 16;
layout(constant_id = 3) const uint TN = 16;
layout(constant_id = 4) const uint TK = 16;
layout(constant_id = 5) const uint BC = 64;  // keys per block: 64 or 32

const uint D = 64;   // head width (the host checks)
const uint D4 = D / 4;
const uint BR = 64;  // queries per workgroup
const uint LDK = D + 8;   // fp16 row stride of the staged Q/K/V rows (padding against bank conflicts)
const uint LDS = D + 4;   // fp32 row stride of S and of the P·V result (BC <= D)
const uint LDP = BC + 8;  // fp16 row stride of P

#include "attention_io.glsl"

shared float16_t kvs[BR * LDK];  // Q at the start, then each block's K, then its V
shared float sf[BR * LDS];       // S, then P·V
shared float16_t ps[BR * LDP];   // P (times w2 for the second source)
shared float row_a[BR];          // per row: the block's rescale factor; at the end, l

// The stored (unscaled) channels [4·d4, 4·d4 + 4) of head h of key (value when `value`) j.
vec4 fetch_raw(bool second, bool value, uint b, uint h, uint j, uint d4) {
  if (second) {
    if (value) return in4(v2_buf[p.v2_off + b * p.v2_bs + j * p.v2_rs + h * D4 + d4]);
    return in4(k2_buf[p.k2_off + b * p.k2_bs + j * p.k2_rs + h * D4 + d4]);
  }
  if (value) return in4(v1_buf[p.v1_off + b * p.v1_bs + j * p.v1_rs + h * D4 + d4]);
  return in4(k1_buf[p.k1_off + b * p.k1_bs + j * p.k1_rs + h * D4 + d4]);
}

void put4(uint at, vec4 v) {
  kvs[at] = float16_t(v.x);
  kvs[at + 1] = float16_t(v.y);
  kvs[at + 2] = float16_t(v.z);
  kvs[at + 3] = float16_t(v.w);
}

// Stages keys (values when `value`) [j0, j0 + BC) of one source into kvs; rows past the end become zeros.
void stage(bool second, bool value, uint j0, uint b, uint h) {
  const uint n = second ? p.nk2 : p.nk1;
  for (uint e = gl_LocalInvocationID.x; e < BC * D4; e += gl_WorkGroupSize.x) {
    const uint r = e / D4, d4 = e % D4, j = j0 + r;
    put4(r * LDK + 4 * d4, j < n ? fetch_raw(second, value, b, h, j, d4) : vec4(0));
  }
}

void main() {
  const uint WG = gl_WorkGroupSize.x;
  const uint RS = BR / (WG / SG);  // query rows per subgroup
  const uint FR = RS / TM;         // fragment rows per subgroup
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = gl_SubgroupID;  // uniform within the subgroup
  const uint b = gl_WorkGroupID.y / p.heads, h = gl_WorkGroupID.y % p.heads;
  const uint q0 = gl_WorkGroupID.x * BR;

  // The output accumulator: thread tid owns row tid / TPR, vec4s part, part + TPR, … of it.
  const uint TPR = WG / BR;  // 1, 2 or 4 for WG = 64, 128, 256
  const uint orow = tid / TPR, opart = tid % TPR;
  vec4 o[D4];  // only the first D4 / TPR are used; constant-trip loops keep them in registers
  for (uint i = 0; i < D4; ++i) o[i] = vec4(0);

  // The softmax row this thread owns (threads tid < BR).
  const bool owner = tid < BR;
  const uint qi = min(q0 + (owner ? tid : 0), p.nq - 1);
  float m = NEG, l = 0;

  // Q block (unscaled fp16; rows past the end duplicate the last query) → registers as A fragments.
  for (uint e = tid; e < BR * D4; e += WG) {
    const uint r = e / D4, d4 = e % D4;
    const uint qr = min(q0 + r, p.nq - 1);
    put4(r * LDK + 4 * d4, load_q(p.q_off + b * p.q_bs + qr * p.q_rs + h * D4, d4));
  }
  barrier();
  coopmat<float16_t, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA> qf[FR * (D / TK)];
  for (uint r = 0; r < FR; ++r)
    for (uint kk = 0; kk < D / TK; ++kk)
      coopMatLoad(qf[r * (D / TK) + kk], kvs, (sg * RS + r * TM) * LDK + kk * TK, LDK, gl_CooperativeMatrixLayoutRowMajor);

  const uint nb1 = first_source_blocks(BC, q0 + BR);
  const uint nb = nb1 + (p.nk2 + BC - 1) / BC;

  for (uint blk = 0; blk < nb; ++blk) {
    const bool second = blk >= nb1;
    const uint j0 = (second ? blk - nb1 : blk) * BC;
    barrier();  // Q fragments loaded / the previous block's V, S and row_a are no longer read
    stage(second, false, j0, b, h);
    barrier();

    // S rows [RS·sg, RS·sg + RS) = Q·Kᵀ; K's fragment is D×keys, kvs holds it as [key][d]: column-major.
    for (uint n = 0; n < BC / TN; ++n) {
      coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> acc[FR];
      for (uint r = 0; r < FR; ++r) acc[r] = coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(0.0);
      for (uint kk = 0; kk < D / TK; ++kk) {
        coopmat<float16_t, gl_ScopeSubgroup, TK, TN, gl_MatrixUseB> kf;
        coopMatLoad(kf, kvs, (n * TN) * LDK + kk * TK, LDK, gl_CooperativeMatrixLayoutColumnMajor);
        for (uint r = 0; r < FR; ++r) acc[r] = coopMatMulAdd(qf[r * (D / TK) + kk], kf, acc[r]);
      }
      for (uint r = 0; r < FR; ++r)
        coopMatStore(acc[r], sf, (sg * RS + r * TM) * LDS + n * TN, LDS, gl_CooperativeMatrixLayoutRowMajor);
    }
    barrier();  // S complete, K no longer read

    stage(second, true, j0, b, h);
    if (owner) {
      // Online softmax of row tid in the log2 domain, fp32.
      const uint vn = visible_keys(second, j0, BC, qi);
      const float sc = second ? p.qscale * p.w2 : p.qscale;
      const float pw = second ? p.w2 : 1.0;
      float mx = m;
      for (uint c = 0; c < BC; ++c) mx = c < vn ? max(mx, sc * sf[tid * LDS + c]) : mx;
      const float alpha = exp2(m - mx);
      m = mx;
      l *= alpha;
      for (uint c = 0; c < BC; ++c) {
        const float pc = c < vn ? exp2(sc * sf[tid * LDS + c] - mx) : 0.0;
        l += pc;
        ps[tid * LDP + c] = float16_t(pc * pw);
      }
      row_a[tid] = alpha;
    }
    barrier();  // V staged, P and row_a written, S no longer read

    // P·V rows [RS·sg, RS·sg + RS) into fresh fragments, stored over S. V's fragment is keys×D: row-major.
    for (uint n = 0; n < D / TN; ++n) {
      coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator> acc[FR];
      for (uint r = 0; r < FR; ++r) acc[r] = coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>(0.0);
      for (uint kk = 0; kk < BC / TK; ++kk) {
        coopmat<float16_t, gl_ScopeSubgroup, TK, TN, gl_MatrixUseB> vf;
        coopMatLoad(vf, kvs, (kk * TK) * LDK + n * TN, LDK, gl_CooperativeMatrixLayoutRowMajor);
        for (uint r = 0; r < FR; ++r) {
          coopmat<float16_t, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA> pf;
          coopMatLoad(pf, ps, (sg * RS + r * TM) * LDP + kk * TK, LDP, gl_CooperativeMatrixLayoutRowMajor);
          acc[r] = coopMatMulAdd(pf, vf, acc[r]);
        }
      }
      for (uint r = 0; r < FR; ++r)
        coopMatStore(acc[r], sf, (sg * RS + r * TM) * LDS + n * TN, LDS, gl_CooperativeMatrixLayoutRowMajor);
    }
    barrier();  // P·V complete

    const float alpha = row_a[orow];
    for (uint i = 0; i < D4; ++i) {
      if (i < D4 / TPR) {
        const uint c = 4 * (opart + TPR * i);
        const uint s = orow * LDS + c;
        o[i] = o[i] * alpha + vec4(sf[s], sf[s + 1], sf[s + 2], sf[s + 3]);
      }
    }
  }

  barrier();  // row_a no longer read
  if (owner) row_a[tid] = l;
  barrier();
  if (q0 + orow < p.nq) {
    const float inv = 1.0 / row_a[orow];
    const uint obase = p.o_off + b * p.o_bs + (q0 + orow) * p.o_rs + h * D4;
    for (uint i = 0; i < D4; ++i)
      if (i < D4 / TPR) store_o(obase, opart + TPR * i, o[i] * inv);
  }
  if (p.stats != 0 && owner && q0 + tid < p.nq) write_stats(b, h, qi, m, l);
}
