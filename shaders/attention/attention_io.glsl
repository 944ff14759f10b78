// The interface both attention kernels share (attention.comp, attention_sg.comp): bindings, push constants
// and the key/value fetch (loads: attention_load.glsl).
#include "attention_load.glsl"
layout(std430, binding = 0) readonly buffer Qb { IN_T q_buf[]; };
layout(std430, binding = 1) readonly buffer K1b { IN_T k1_buf[]; };
layout(std430, binding = 2) readonly buffer V1b { IN_T v1_buf[]; };
layout(std430, binding = 3) readonly buffer K2b { IN_T k2_buf[]; };
layout(std430, binding = 4) readonly buffer V2b { IN_T v2_buf[]; };
layout(std430, binding = 5) writeonly buffer Ob { OUT_T o_buf[]; };
#if defined(VARIANT_ANY)
void store_o(uint base, uint d4, vec4 v) {
  for (uint k = 0; k < 4; ++k)
    if (4 * d4 + k < D) o_buf[base + 4 * d4 + k] = STORE_T(v[k]);
}
#else
void store_o(uint base, uint d4, vec4 v) { o_buf[base + d4] = STORE_VEC4(v); }
#endif
layout(std430, binding = 6) writeonly buffer Sb { float stats[]; };  // [B, H, Nq] × (m, l)

// Per operand, in vec4 units (elements in the `_any` variants): offset of (batch 0, token 0, channel 0), row stride, batch stride.
layout(push_constant) uniform P {
  uint nq, nk1, nk2, heads;
  uint q_off, q_rs, q_bs;
  uint k1_off, k1_rs, k1_bs;
  uint v1_off, v1_rs, v1_bs;
  uint k2_off, k2_rs, k2_bs;
  uint v2_off, v2_rs, v2_bs;
  uint o_off, o_rs, o_bs;
  float qscale;  // softmax scale · log2(e): scores are in the log2 domain, softmax uses exp2
  float w2;      // multiplies the second source's keys and values
  uint causal;   // query i sees first-source keys j ≤ i
  uint stats;    // write each query's final m and l (capture); a branch at the very end, free when off
} p;

const float NEG = -1.0e30;  // finite: -inf arithmetic is not guaranteed without float controls

// Channels [4·d4, 4·d4 + 4) of the query head starting at `base`.
vec4 load_q(uint base, uint d4) { return LOAD4(q_buf, base, d4); }

// Channels [4·d4, 4·d4 + 4) of head h of key j (value when `value`), the second source scaled by w2.
vec4 fetch_kv(bool second, bool value, uint b, uint h, uint j, uint d4) {
  if (second) {
    if (value) return p.w2 * LOAD4(v2_buf, p.v2_off + b * p.v2_bs + j * p.v2_rs + h * HEAD_UNITS, d4);
    return p.w2 * LOAD4(k2_buf, p.k2_off + b * p.k2_bs + j * p.k2_rs + h * HEAD_UNITS, d4);
  }
  if (value) return LOAD4(v1_buf, p.v1_off + b * p.v1_bs + j * p.v1_rs + h * HEAD_UNITS, d4);
  return LOAD4(k1_buf, p.k1_off + b * p.k1_bs + j * p.k1_rs + h * HEAD_UNITS, d4);
}

// Key blocks of `bc` keys: first-source blocks (only those a causal block of queries [q0, q_end) can see),
// then second-source blocks.
uint first_source_blocks(uint bc, uint q_end) {
  const uint all = (p.nk1 + bc - 1) / bc;
  return p.causal != 0 ? min(all, (min(q_end, p.nq) + bc - 1) / bc) : all;
}

// How many keys from j0 on (at most bc) query qi may see in this block.
uint visible_keys(bool second, uint j0, uint bc, uint qi) {
  const uint n = second ? p.nk2 : p.nk1;
  const uint causal_n = (p.causal != 0 && !second) ? (qi >= j0 ? qi - j0 + 1 : 0) : bc;
  return min(min(n - j0, bc), causal_n);
}

void write_stats(uint b, uint h, uint qi, float m, float l) {
  const uint si = ((b * p.heads + h) * p.nq + qi) * 2;
  stats[si] = m;
  stats[si + 1] = l;
}
