#version 450
//! variants: f32 f16
// Sinusoidal timestep embedding (diffusers get_timestep_embedding): row b of y [B, dim] is
// [sin(t_b f_i), cos(t_b f_i)] for i < half (cos first when flipped), then a zero column when dim is odd,
// with f_i = q^i and q = exp(-ln(max_period) / (half - shift)) from the host.
// t * f_i reaches 1000 rad, where one fp32 ulp is 6e-5 rad, so f_i and the product are carried as
// unevaluated sums of two floats (about 48 bits), reduced modulo pi/2 and only then rounded to one float.
// GLSL's sin and cos are allowed 2^-11 absolute error, so small polynomials (Cephes sinf/cosf) replace them.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer T { float timesteps[]; };
layout(std430, binding = 1) writeonly buffer Y { STORE_T y[]; };
layout(push_constant) uniform P {
  uint n;  // B * dim
  uint dim;
  uint half_dim;
  uint flip;
  float q_hi;
  float q_lo;
} p;

// Two-float arithmetic needs every rounding exactly as written: `precise` forbids fusing into fma.
vec2 quick_two_sum(float a, float b) {
  precise float s = a + b;
  precise float e = b - (s - a);
  return vec2(s, e);
}

vec2 split(float a) {  // Veltkamp: a = hi + lo with 12-bit halves, so their products are exact
  precise float c = 4097.0 * a;
  precise float hi = c - (c - a);
  precise float lo = a - hi;
  return vec2(hi, lo);
}

vec2 two_prod(float a, float b) {
  precise float prod = a * b;
  const vec2 as = split(a), bs = split(b);
  precise float e = ((as.x * bs.x - prod) + as.x * bs.y + as.y * bs.x) + as.y * bs.y;
  return vec2(prod, e);
}

vec2 df_mul(vec2 a, vec2 b) {
  const vec2 prod = two_prod(a.x, b.x);
  precise float e = prod.y + (a.x * b.y + a.y * b.x);
  return quick_two_sum(prod.x, e);
}

vec2 df_pow(vec2 q, uint i) {
  vec2 r = vec2(1.0, 0.0);
  for (; i != 0u; i >>= 1) {
    if ((i & 1u) != 0u) r = df_mul(r, q);
    q = df_mul(q, q);
  }
  return r;
}

// sin and cos of a two-float angle: k = round(a * 2/pi), r = a - k*pi/2 with pi/2 in three parts whose
// products with k are exact (k < 2^13, angles below ~12000 rad), then polynomials on |r| <= pi/4.
vec2 sin_cos(vec2 a) {
  const float k = round(a.x * 0.636619772367581343);
  precise float r = ((a.x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  precise float rr = r + a.y;
  const float z = rr * rr;
  const float s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * rr + rr;
  const float c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (int(k) & 3) {
    case 0: return vec2(s, c);
    case 1: return vec2(c, -s);
    case 2: return vec2(-s, -c);
    default: return vec2(-c, s);
  }
}

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const uint b = i / p.dim, j = i - b * p.dim;
  if (j >= 2u * p.half_dim) {
    y[i] = STORE_T(0.0);
    return;
  }
  const bool second = j >= p.half_dim;
  const vec2 f = df_pow(vec2(p.q_hi, p.q_lo), second ? j - p.half_dim : j);
  const float t = timesteps[b];
  const vec2 prod = two_prod(t, f.x);
  precise float lo = prod.y + t * f.y;
  const vec2 sc = sin_cos(quick_two_sum(prod.x, lo));
  const bool want_cos = second != (p.flip != 0u);  // [sin, cos], or [cos, sin] when flipped
  y[i] = STORE_T(want_cos ? sc.y : sc.x);
}
