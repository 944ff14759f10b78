// The interface both attention kernels share (attention.comp, attention_sg.comp): bindings, push constants
// and the key/value fetch. Every view offset and stride is a multiple of 4 elements (the host checks), so
// each load moves 4 channels at once. fp16 inputs are read as 32-bit words and unpacked: half the loads of
// 16-bit ones, which matters where each load is a per-lane loop (lavapipe).
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
layout(std430, binding = 6) writeonly buffer Sb { float stats[]; };  // [B, H, Nq] × (m, l)

// Per operand, in vec4 units: offset of (batch 0, token 0, channel 0), row stride, batch stride.
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

vec4 load_q(uint i) { return in4(q_buf[i]); }

// Channels [4·d4, 4·d4 + 4) of head h of key j (value when `value`), the second source scaled by w2.
vec4 fetch_kv(bool second, bool value, uint b, uint h, uint j, uint d4) {
  if (second) {
    if (value) return p.w2 * in4(v2_buf[p.v2_off + b * p.v2_bs + j * p.v2_rs + h * (D / 4) + d4]);
    return p.w2 * in4(k2_buf[p.k2_off + b * p.k2_bs + j * p.k2_rs + h * (D / 4) + d4]);
  }
  if (value) return in4(v1_buf[p.v1_off + b * p.v1_bs + j * p.v1_rs + h * (D / 4) + d4]);
  return in4(k1_buf[p.k1_off + b * p.k1_bs + j * p.k1_rs + h * (D / 4) + d4]);
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
