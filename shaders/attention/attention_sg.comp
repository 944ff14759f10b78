#version 450
//! variants: f32 f16 f32_any f16_any
// Flash attention for CPU Vulkan drivers (lavapipe), same contract as attention.comp. There a subgroup is
// one SIMD register and every buffer load inside a loop becomes a per-lane loop with bounds checks, however
// uniform its address, so loads, not arithmetic, set the speed. Each lane owns R queries (their q, running
// max m, running sum l and output accumulators stay in its registers); keys and values are read once per
// subgroup, spread over the lanes (lane l holds vec4s l, l+SG, … of a row), and reach every lane through
// subgroup broadcasts, which are register shuffles; each broadcast value then feeds R queries. Shared memory
// would only add a copy, so keys stream straight from the buffers, KG keys at a time. Needs the device's
// subgroup size to be fixed and equal to SG (the host checks).
#include "common.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 32;  // a multiple of SG
layout(constant_id = 1) const uint D = 64;   // head width
layout(constant_id = 2) const uint SG = 8;   // the subgroup size
layout(constant_id = 3) const uint KG = 2;   // keys per step, 1 to 4
layout(constant_id = 4) const uint R = 2;    // queries per lane
const uint D4 = (D + 3) / 4;
const uint J = (D4 + SG - 1) / SG;  // vec4s of one key row each lane holds

#include "attention_io.glsl"

// Only indexed by unrolled loops, so they stay in registers (or the stack), never in per-lane scratch.
vec4 q[R * D4], o[R * D4];
vec4 part[KG * J];  // this lane's share of KG key (or value) rows

// Loads this lane's share of rows j0 … j0+KG-1 (clamped to the source; masked keys are never used).
void load_rows(bool second, bool value, uint b, uint h, uint j0) {
  const uint n = second ? p.nk2 : p.nk1;
  [[unroll]] for (uint u = 0; u < KG; ++u)
    [[unroll]] for (uint jj = 0; jj < J; ++jj)
      part[u * J + jj] = fetch_kv(second, value, b, h, min(j0 + u, n - 1), min(gl_SubgroupInvocationID + SG * jj, D4 - 1));
}

void main() {
  const uint b = gl_WorkGroupID.y / p.heads, h = gl_WorkGroupID.y % p.heads;
  const uint q0 = gl_WorkGroupID.x * WG * R;
  uint qi[R];
  float m[R], l[R];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    qi[r] = min(q0 + (gl_SubgroupID * R + r) * SG + gl_SubgroupInvocationID, p.nq - 1);  // past the end: a duplicate
    const uint qbase = p.q_off + b * p.q_bs + qi[r] * p.q_rs + h * HEAD_UNITS;
    [[unroll]] for (uint i = 0; i < D4; ++i) {
      q[r * D4 + i] = p.qscale * load_q(qbase, i);
      o[r * D4 + i] = vec4(0);
    }
    m[r] = NEG;
    l[r] = 0;
  }

  const uint ng1 = first_source_blocks(KG, q0 + WG * R);
  const uint ng = ng1 + (p.nk2 + KG - 1) / KG;
  for (uint g = 0; g < ng; ++g) {
    const bool second = g >= ng1;
    const uint j0 = (second ? g - ng1 : g) * KG;

    // Every lane computes every score (broadcasts need all lanes active); masked ones are dropped after.
    load_rows(second, false, b, h, j0);
    vec4 sc[R];
    [[unroll]] for (uint r = 0; r < R; ++r) sc[r] = vec4(0);
    [[unroll]] for (uint u = 0; u < KG; ++u)
      [[unroll]] for (uint jj = 0; jj < J; ++jj)
        [[unroll]] for (uint ln = 0; ln < SG; ++ln)
          if (ln + SG * jj < D4) {
            const vec4 k = subgroupBroadcast(part[u * J + jj], ln);
            [[unroll]] for (uint r = 0; r < R; ++r) sc[r][u] += dot(q[r * D4 + ln + SG * jj], k);
          }
    vec4 pr[R];
    float alpha[R];
    [[unroll]] for (uint r = 0; r < R; ++r) {
      const bvec4 ok = lessThan(uvec4(0, 1, 2, 3), uvec4(visible_keys(second, j0, KG, qi[r])));
      const vec4 s = mix(vec4(NEG), sc[r], ok);
      const float mx = max(max(m[r], max(s.x, s.y)), max(s.z, s.w));
      alpha[r] = exp2(m[r] - mx);
      pr[r] = mix(vec4(0), exp2(s - mx), ok);
      l[r] = l[r] * alpha[r] + (pr[r].x + pr[r].y + pr[r].z + pr[r].w);
      m[r] = mx;
    }

    load_rows(second, true, b, h, j0);
    [[unroll]] for (uint jj = 0; jj < J; ++jj)
      [[unroll]] for (uint ln = 0; ln < SG; ++ln) {
        const uint i = ln + SG * jj;
        if (i < D4) {
          vec4 v[KG];
          [[unroll]] for (uint u = 0; u < KG; ++u) v[u] = subgroupBroadcast(part[u * J + jj], ln);
          [[unroll]] for (uint r = 0; r < R; ++r) {
            vec4 acc = o[r * D4 + i] * alpha[r];
            [[unroll]] for (uint u = 0; u < KG; ++u) acc += pr[r][u] * v[u];
            o[r * D4 + i] = acc;
          }
        }
      }
  }

  [[unroll]] for (uint r = 0; r < R; ++r) {
    if (q0 + (gl_SubgroupID * R + r) * SG + gl_SubgroupInvocationID < p.nq) {
      const float inv = 1.0 / l[r];
      const uint obase = p.o_off + b * p.o_bs + qi[r] * p.o_rs + h * HEAD_UNITS;
      [[unroll]] for (uint i = 0; i < D4; ++i) store_o(obase, i, o[r * D4 + i] * inv);
      if (p.stats != 0) write_stats(b, h, qi[r], m[r], l[r]);
    }
  }
}
