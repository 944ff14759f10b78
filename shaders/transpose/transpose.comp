#version 450
//! variants: f32 f16
// y[b, c, r] = x[b, r, c] through a 16×16 shared tile, so both the reads and the writes walk rows.
// One workgroup per tile (x: tile index, y: batch item); 16×16 invocations.
#include "common.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer X { STORE_T x[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint rows, cols, tiles_c;
} p;

// +1 column: the column reads of the write phase would otherwise hit one bank.
shared float tile[16][17];

void main() {
  const uint tr = gl_WorkGroupID.x / p.tiles_c, tc = gl_WorkGroupID.x - tr * p.tiles_c;
  const uint base = gl_WorkGroupID.y * p.rows * p.cols;
  const uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
  uint r = tr * 16u + ly, c = tc * 16u + lx;
  if (r < p.rows && c < p.cols) tile[ly][lx] = float(x[base + r * p.cols + c]);
  barrier();
  // Output row c (tc*16 + ly), column r (tr*16 + lx).
  c = tc * 16u + ly;
  r = tr * 16u + lx;
  if (r < p.rows && c < p.cols) y[base + c * p.rows + r] = STORE_T(tile[lx][ly]);
}
