#version 450
//! variants: f32 f16
// Row gather y[t, :] = table[ids[t], :] (token and position embeddings). Ids past the table are clamped to
// its last row, so a bad id can never read outside the table. A table larger than one storage binding is bound
// in runs of rows [row0, row0 + run_rows), one dispatch each; a dispatch writes only the tokens whose row it holds.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Ids { uint ids[]; };
layout(std430, binding = 1) readonly buffer Table { STORE_T table[]; };
layout(std430, binding = 2) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // tokens * dim
  uint dim;
  uint rows;  // table rows (vocabulary size)
  uint row0, run_rows;  // the rows bound in this dispatch
  uint table_off;       // elements before row row0 in the bound slice
  uint y_off;           // elements before this dispatch's first token in the bound y (tokens come in runs too)
  uint id_off;          // ids before this dispatch's first token in the bound ids
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint token = i / p.dim, k = i - token * p.dim;
  const uint row = min(ids[p.id_off + token], p.rows - 1u);
  if (row < p.row0 || row - p.row0 >= p.run_rows) return;
  y[p.y_off + i] = table[p.table_off + (row - p.row0) * p.dim + k];
}
