// The interface both attention kernels share (attention.comp, attention_sg.comp): bindings, push constants
// and the key/value fetch. In the common variants every view offset and stride and D are multiples of 4
// elements (the host checks), so each load moves 4 channels at once. fp16 inputs are read as 32-bit words and unpacked: half the loads of
// 16-bit ones, which matters where each load is a per-lane loop (lavapipe).
#if defined(VARIANT_ANY)
// Any head width (the `_any` variants, chosen when D or a view is not a multiple of 4): scalar loads and
// stores, offsets and strides in elements. A head's vec4s past D read as zeros, which leave dot products
// unchanged, and are never stored. Indices are clamped into the head (a select may evaluate both sides), so
// no load passes the buffer's end.
layout(std430, binding = 0) readonly buffer Qb { STORE_T q_buf[]; };
layout(std430, binding = 1) readonly buffer K1b { STORE_T k1_buf[]; };
layout(std430, binding = 2) readonly buffer V1b { STORE_T v1_buf[]; };
layout(std430, binding = 3) readonly buffer K2b { STORE_T k2_buf[]; };
layout(std430, binding = 4) readonly buffer V2b { STORE_T v2_buf[]; };
layout(std430, binding = 5) writeonly buffer Ob { STORE_T o_buf[]; };
const uint HEAD_UNITS = D;  // a head's extent in offset units
// Channels [4·d4, 4·d4 + 4) of the head starting at element `base`; d4 < D4, so 4·d4 < D.
#define LOAD4(buf, base, d4) vec4(float(buf[(base) + 4 * (d4)]),                                 \
                                  4 * (d4) + 1 < D ? float(buf[(base) + min(4 * (d4) + 1, D - 1)]) : 0.0,   \
                                  4 * (d4) + 2 < D ? float(buf[(base) + min(4 * (d4) + 2, D - 1)]) : 0.0,   \
                                  4 * (d4) + 3 < D ? float(buf[(base) + min(4 * (d4) + 3, D - 1)]) : 0.0)
void store_o(uint base, uint d4, vec4 v) {
  for (uint k = 0; k < 4; ++k)
    if (4 * d4 + k < D) o_buf[base + 4 * d4 + k] = STORE_T(v[k]);
}
#else
#if defined(VARIANT_F16)
#define IN4 uvec2
vec4 in4(uvec2 x) { return vec4(unpackHalf2x16(x.x), unpackHalf2x16(x.y)); }
#else
#define IN4 vec4
vec4 in4(vec4 x) { return x; }
#endif
layout(std430, binding = 0) readonly buffer Qb { IN4 q_buf[]; };
layout(std430, binding = 1) readonly buffer K1b { IN4 k1_buf[]; };
layout(std430, binding = 2) readonly buffer V1b { IN4 v1_buf[]; };
layout(std430, binding = 3) readonly buffer K2b { IN4 k2_buf[]; };
layout(std430, binding = 4) readonly buffer V2b { IN4 v2_buf[]; };
layout(std430, binding = 5) writeonly buffer Ob { STORE_VEC4 o_buf[]; };
const uint HEAD_UNITS = D / 4;
#define LOAD4(buf, base, d4) in4(buf[(base) + (d4)])
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
