#version 450
//! variants: f32 f16 f32_any f16_any
// Flash attention (FlashAttention-2 shape) over [first source ‖ second source] keys without concatenating
// them: one workgroup per (batch·head, block of BR queries); key/value blocks of BC tokens are staged in
// shared memory; each query keeps its running max m, running sum l and output accumulator in registers.
// Scores, softmax and accumulation are fp32 whatever the storage type (fp16 scores overflow in SD2.x).
// The GPU kernel, correct for any subgroup size; CPU drivers get attention_sg.comp.
//
// A query is owned by T threads, each holding every T-th vec4 of the head (T = 1 for D ≤ 64): threads of
// one subgroup own different queries, so their shared K/V reads hit one address (a broadcast). With T > 1
// the partial dot products meet in shared memory.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;      // head width; D4 a multiple of T
layout(constant_id = 2) const uint T = 1;       // threads per query
layout(constant_id = 3) const uint BC = 32;     // keys per staged block
const uint BR = WG / T;   // queries per workgroup
const uint D4 = (D + 3) / 4;
const uint DT4 = D4 / T;  // vec4s of the head each thread owns

#include "attention_io.glsl"

shared vec4 ks[BC * D4];
shared vec4 vs[BC * D4];
// Partial dot products of the T threads of a query; a single float when T == 1.
shared float sp[BC * WG * ((2 * T - 2) / T) + 1];

// Stages keys and values [j0, j0 + BC) of one source; rows past the end become zeros (masked later).
void stage(bool second, uint j0, uint b, uint h) {
  const uint n = second ? p.nk2 : p.nk1;
  for (uint e = gl_LocalInvocationID.x; e < BC * D4; e += WG) {
    const uint j = j0 + e / D4;
    ks[e] = j < n ? fetch_kv(second, false, b, h, j, e % D4) : vec4(0);
    vs[e] = j < n ? fetch_kv(second, true, b, h, j, e % D4) : vec4(0);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint r = tid % BR;
  const uint t = T == 1 ? 0 : tid / BR;  // 0 folds at specialization: K/V addresses are provably uniform
  const uint b = gl_WorkGroupID.y / p.heads, h = gl_WorkGroupID.y % p.heads;
  const uint q0 = gl_WorkGroupID.x * BR;
  const uint qi = min(q0 + r, p.nq - 1);  // rows past the end compute a duplicate and write nothing

  vec4 q[DT4], o[DT4];  // indexed by constant-trip loops only: registers
  const uint qbase = p.q_off + b * p.q_bs + qi * p.q_rs + h * HEAD_UNITS;
  for (uint i = 0; i < DT4; ++i) {
    q[i] = p.qscale * load_q(qbase, t + T * i);
    o[i] = vec4(0);
  }
  float m = NEG, l = 0;

  const uint nb1 = first_source_blocks(BC, q0 + BR);
  const uint nb = nb1 + (p.nk2 + BC - 1) / BC;

  for (uint blk = 0; blk < nb; ++blk) {
    const bool second = blk >= nb1;
    const uint j0 = (second ? blk - nb1 : blk) * BC;
    barrier();  // the previous block's ks/vs (and sp) are no longer read
    stage(second, j0, b, h);
    barrier();
    // Scores of the whole block first, so the accumulator is rescaled once per block.
    float sc[BC];
    for (uint c = 0; c < BC; ++c) {
      float acc = 0;
      for (uint i = 0; i < DT4; ++i) acc += dot(q[i], ks[c * D4 + t + T * i]);
      sc[c] = acc;
    }
    if (T > 1) {  // the T partial sums of a query meet in shared memory
      for (uint c = 0; c < BC; ++c) sp[(c * T + t) * BR + r] = sc[c];
      barrier();
      for (uint c = 0; c < BC; ++c) {
        float acc = 0;
        for (uint u = 0; u < T; ++u) acc += sp[(c * T + u) * BR + r];
        sc[c] = acc;
      }
    }

    const uint vn = visible_keys(second, j0, BC, qi);
    float mx = m;
    for (uint c = 0; c < BC; ++c) mx = c < vn ? max(mx, sc[c]) : mx;
    const float alpha = exp2(m - mx);
    m = mx;
    l *= alpha;
    for (uint i = 0; i < DT4; ++i) o[i] *= alpha;
    for (uint c = 0; c < BC; ++c) {
      const float pc = c < vn ? exp2(sc[c] - mx) : 0.0;
      l += pc;
      for (uint i = 0; i < DT4; ++i) o[i] += pc * vs[c * D4 + t + T * i];
    }
  }

  if (q0 + r >= p.nq) return;
  const float inv = 1.0 / l;
  const uint obase = p.o_off + b * p.o_bs + qi * p.o_rs + h * HEAD_UNITS;
  for (uint i = 0; i < DT4; ++i) store_o(obase, t + T * i, o[i] * inv);
  if (p.stats != 0 && t == 0) write_stats(b, h, qi, m, l);
}
