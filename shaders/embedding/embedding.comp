#version 450
//! variants: f32 f16
// Row gather y[t, :] = table[ids[t], :] (token and position embeddings). Ids past the table are clamped to
// its last row, so a bad id can never read outside the table.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 1) readonly buffer Table { STORE_T table[]; };
layout(std430, binding = 2) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // tokens * dim
  uint dim;
  uint rows;  // table rows (vocabulary size)
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint token = i / p.dim, k = i - token * p.dim;
  y[i] = table[min(ids[token], p.rows - 1u) * p.dim + k];
}
