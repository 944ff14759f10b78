#version 450
//! variants: f32 f16
// y [B, C1 + C2, S] = [a [B, C1, S], b [B, C2, S]] along channels: per batch item, a's block then b's.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer A { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer B { STORE_T b[]; };
layout(std430, binding = 2) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;        // output elements
  uint a_block;  // C1 * S
  uint b_block;  // C2 * S
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint item = i / (p.a_block + p.b_block), r = i - item * (p.a_block + p.b_block);
  // if/else rather than ?:, which may evaluate both loads and read b before its start.
  if (r < p.a_block) {
    y[i] = a[item * p.a_block + r];
  } else {
    y[i] = b[item * p.b_block + (r - p.a_block)];
  }
}
