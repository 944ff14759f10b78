#version 450
// A picture read straight from a storage buffer, nearest pixel:
//   mode 0: a float latent [channels, height, width]; rgb = proj · (channels 0..3) + bias (the preview projection)
//   mode 1: RGBA8 pixels packed one per uint
layout(push_constant) uniform Push {
  vec4 rect;
  ivec4 dims;
  mat4 proj;
  vec4 bias;
} pc;
layout(set = 0, binding = 0) readonly buffer Data { uint words[]; } data;
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 color;
void main() {
  const ivec2 size = pc.dims.xy;
  const ivec2 p = clamp(ivec2(uv * vec2(size)), ivec2(0), size - 1);
  const int i = p.y * size.x + p.x;
  if (pc.dims.w == 1) {
    color = vec4(unpackUnorm4x8(data.words[i]).rgb, 1.0);
    return;
  }
  vec4 z = vec4(0.0);
  const int plane = size.x * size.y;
  for (int c = 0; c < min(pc.dims.z, 4); ++c) z[c] = uintBitsToFloat(data.words[c * plane + i]);
  color = vec4(clamp((pc.proj * z).rgb + pc.bias.rgb, 0.0, 1.0), 1.0);
}
