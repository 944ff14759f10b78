#version 450
//! variants: f32 f16
// out = a + alpha * b, a and out viewed as [outer, mid, inner] and b read through element strides
// (0 broadcasts). In place, the result goes back through A itself, so no two bindings alias.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer A { STORE_T a[]; };
layout(std430, binding = 1) readonly buffer B { STORE_T b[]; };
layout(std430, binding = 2) writeonly buffer O { STORE_T o[]; };
layout(push_constant) uniform P {
  uint n;  // outer * mid * inner
  uint mid;
  uint inner;
  uint stride_outer;
  uint stride_mid;
  uint stride_inner;
  float alpha;
  uint in_place;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  uint bi = i * p.stride_inner;
  if (p.inner != p.n) {  // uniform; a plain [n] + [n] add skips the divisions
    const uint k = i % p.inner, row = i / p.inner;
    bi = (row / p.mid) * p.stride_outer + (row % p.mid) * p.stride_mid + k * p.stride_inner;
  }
  const float v = float(a[i]) + p.alpha * float(b[bi]);
  if (p.in_place != 0u) {
    a[i] = STORE_T(v);
  } else {
    o[i] = STORE_T(v);
  }
}
