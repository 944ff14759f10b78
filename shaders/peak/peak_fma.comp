#version 450
// Arithmetic peak probe: eight independent chains of vec4 FMAs per invocation, no memory traffic in the
// loop. The benchmark divides every kernel's GFLOP/s by what this reaches on the same device.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform P { uint iters; float seed; } p;

void main() {
  const float s = p.seed + float(gl_GlobalInvocationID.x) * 1e-7;
  vec4 a0 = vec4(s), a1 = a0 + 1e-3, a2 = a0 + 2e-3, a3 = a0 + 3e-3, a4 = a0 + 4e-3, a5 = a0 + 5e-3, a6 = a0 + 6e-3, a7 = a0 + 7e-3;
  const vec4 m = vec4(0.999999), c = vec4(1e-6);
  for (uint i = 0; i < p.iters; ++i) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  const vec4 r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  o[gl_GlobalInvocationID.x] = r.x + r.y + r.z + r.w;
}
