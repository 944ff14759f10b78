// How the attention kernels load a head's channels, 4 at a time, in both families of variants. Needs D declared.
#if defined(VARIANT_ANY)
// Any head width (the `_any` variants, chosen when D or a view is not a multiple of 4): scalar loads and
// stores, offsets and strides in elements. A head's vec4s past D read as zeros, which leave dot products
// unchanged, and are never stored. Indices are clamped into the head (a select may evaluate both sides), so
// no load passes the buffer's end.
#define IN_T STORE_T
#define OUT_T STORE_T
const uint HEAD_UNITS = D;  // a head's extent in offset units
// Channels [4·d4, 4·d4 + 4) of the head starting at element `base`; d4 < (D + 3) / 4, so 4·d4 < D.
#define LOAD4(buf, base, d4) vec4(float(buf[(base) + 4 * (d4)]),                                           \
                                  4 * (d4) + 1 < D ? float(buf[(base) + min(4 * (d4) + 1, D - 1)]) : 0.0, \
                                  4 * (d4) + 2 < D ? float(buf[(base) + min(4 * (d4) + 2, D - 1)]) : 0.0, \
                                  4 * (d4) + 3 < D ? float(buf[(base) + min(4 * (d4) + 3, D - 1)]) : 0.0)
#else
// Every view offset and stride and D are multiples of 4 elements (the host checks), so each load moves 4
// channels at once. fp16 inputs are read as 32-bit words and unpacked: half the loads of 16-bit ones, which
// matters where each load is a per-lane loop (lavapipe).
#if defined(VARIANT_F16)
#define IN_T uvec2
vec4 in4(uvec2 x) { return vec4(unpackHalf2x16(x.x), unpackHalf2x16(x.y)); }
#else
#define IN_T vec4
vec4 in4(vec4 x) { return x; }
#endif
#define OUT_T STORE_VEC4
const uint HEAD_UNITS = D / 4;
#define LOAD4(buf, base, d4) in4(buf[(base) + (d4)])
#endif
