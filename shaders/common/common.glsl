// Shared by every kernel: storage type by variant (fp16 storage, fp32 arithmetic everywhere).
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : enable
#extension GL_EXT_shader_16bit_storage : enable

#if defined(VARIANT_F16)
#define STORE_T float16_t
#define STORE_VEC4 f16vec4
#else
#define STORE_T float
#define STORE_VEC4 vec4
#endif
