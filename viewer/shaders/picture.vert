#version 450
// A screen rectangle (push constants, in normalised device coordinates) as a 4-vertex triangle strip.
layout(push_constant) uniform Push {
  vec4 rect;     // x0, y0, x1, y1
  ivec4 dims;    // width, height, channels, mode
  mat4 proj;
  vec4 bias;
} pc;
layout(location = 0) out vec2 uv;
void main() {
  const vec2 c = vec2(gl_VertexIndex & 1, (gl_VertexIndex >> 1) & 1);
  uv = c;
  gl_Position = vec4(mix(pc.rect.xy, pc.rect.zw, c), 0.0, 1.0);
}
