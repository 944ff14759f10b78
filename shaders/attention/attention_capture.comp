#version 450
//! variants: f32 f16 f32_any f16_any
// What the viewer draws, for a few selected queries: the probabilities over the second source's keys and
// the share of probability mass those keys received, averaged over heads [h0, h1) (all, or one). The main kernel left
// each query's final max m and sum l (log2 domain); this pass recomputes only the selected queries' scores
// against the second source and normalises them, so the main kernel pays nothing for capture.
// One workgroup per (selected query, batch item); it loops over heads and each thread keeps the same keys
// for every head, so the head sum needs no atomics.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint D = 64;

const uint D4 = (D + 3) / 4;
#include "attention_load.glsl"
layout(std430, binding = 0) readonly buffer Qb { IN_T q_buf[]; };
layout(std430, binding = 1) readonly buffer K2b { IN_T k2_buf[]; };
layout(std430, binding = 2) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 3) readonly buffer Sb { float stats[]; };
layout(std430, binding = 4) buffer Pb { float probs[]; };  // [B, nsel, nk2]
layout(std430, binding = 5) writeonly buffer Mb { float mass[]; };  // [B, nsel]

// Offsets and strides in vec4 units (elements in the `_any` variants), as in attention.comp.
layout(push_constant) uniform P {
  uint nq, nk2, heads, nsel, h0, h1;
  uint q_off, q_rs, q_bs;
  uint k2_off, k2_rs, k2_bs;
  float qscale;
  float w2;
} p;

shared vec4 qs[D4];
shared float red[WG];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sel = gl_WorkGroupID.x, b = gl_WorkGroupID.y;
  const uint qi = ids[sel];
  const uint prow = (b * p.nsel + sel) * p.nk2;
  float total = 0;
  if (qi < p.nq) {  // uniform across the workgroup; out-of-range ids give zeros
    const float inv_heads = 1.0 / float(p.h1 - p.h0);
    for (uint h = p.h0; h < p.h1; ++h) {
      barrier();
      const uint qbase = p.q_off + b * p.q_bs + qi * p.q_rs + h * HEAD_UNITS;
      for (uint d = tid; d < D4; d += WG) qs[d] = p.qscale * LOAD4(q_buf, qbase, d);
      barrier();
      const uint si = ((b * p.heads + h) * p.nq + qi) * 2;
      const float m = stats[si], norm = inv_heads / stats[si + 1];
      for (uint j = tid; j < p.nk2; j += WG) {
        const uint kbase = p.k2_off + b * p.k2_bs + j * p.k2_rs + h * HEAD_UNITS;
        float s = 0;
        for (uint d = 0; d < D4; ++d) s += dot(qs[d], p.w2 * LOAD4(k2_buf, kbase, d));
        const float pr = exp2(s - m) * norm;
        total += pr;
        probs[prow + j] = h == p.h0 ? pr : probs[prow + j] + pr;
      }
    }
  } else {
    for (uint j = tid; j < p.nk2; j += WG) probs[prow + j] = 0;
  }
  red[tid] = total;
  barrier();
  for (uint w = WG / 2; w > 0; w /= 2) {
    if (tid < w) red[tid] += red[tid + w];
    barrier();
  }
  if (tid == 0) mass[b * p.nsel + sel] = red[0];
}
