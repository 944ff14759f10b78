#include "engine/util/torch_randn.h"

#include <cmath>
#include <cstring>
#include <string>

#include "engine/util/error.h"

// Bit-exactness depends on every multiply and add below being rounded exactly where torch's are: the
// compiler must not fuse a*b+c on its own (GCC does by default when FMA is enabled, e.g. -march=native).
// The fusions torch's AVX2 build does have are written out as std::fma. -ffast-math would break this file.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace ezivk {
namespace {

constexpr int kStateN = 624;
constexpr int kStateM = 397;
constexpr double kPi = 3.14159265358979323846;

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
// The vector kernels select and negate by masking bits; these keep that exact (a select of +0.0f, not -0.0f).
float select_bits(bool keep, float v) { return keep ? v : bits_to_float(0); }
float xor_sign(float v, uint32_t sign) { return bits_to_float(float_to_bits(v) ^ sign); }

// The constants are double literals narrowed to float, as torch's avx_mathfun.h tables are.
constexpr float f32(double d) { return static_cast<float>(d); }

// Cephes logf as torch's AVX2 kernel evaluates it, for x in (0, 1] (never zero, never subnormal here).
// GCC contracted torch's build into FMAs: each Horner step, and y*z + e*q1 (the product y*z is the one fused,
// e*q1 is rounded on its own). e*q2 and z*0.5 are exact products, so fusing them changes nothing. Found by
// matching 2^20 values from torch 1.13, every other contraction pattern tried mismatched some.
float cephes_log(float x) {
  const float one = 1.0f;
  const uint32_t xb = float_to_bits(x);
  float e = static_cast<float>(static_cast<int32_t>(xb >> 23) - 0x7f);
  x = bits_to_float((xb & ~0x7f800000u) | float_to_bits(0.5f));  // mantissa scaled into [0.5, 1)
  e = e + one;
  const bool below = x < f32(0.707106781186547524);
  const float tmp = select_bits(below, x);
  x = x - one;
  e = e - select_bits(below, one);
  x = x + tmp;
  const float z = x * x;
  float y = std::fma(f32(7.0376836292E-2), x, f32(-1.1514610310E-1));
  y = std::fma(y, x, f32(1.1676998740E-1));
  y = std::fma(y, x, f32(-1.2420140846E-1));
  y = std::fma(y, x, f32(1.4249322787E-1));
  y = std::fma(y, x, f32(-1.6668057665E-1));
  y = std::fma(y, x, f32(2.0000714765E-1));
  y = std::fma(y, x, f32(-2.4999993993E-1));
  y = std::fma(y, x, f32(3.3333331174E-1));
  y = y * x;
  y = std::fma(y, z, e * f32(-2.12194440e-4));
  y = y - z * 0.5f;
  x = x + y;
  return std::fma(e, f32(0.693359375), x);
}

// Cephes sincosf as torch's AVX2 kernel evaluates it, for x >= 0 (angles in [0, 2*pi) here).
void cephes_sincos(float x, float* s, float* c) {
  const float y_scaled = x * f32(1.27323954473516);  // 4/pi
  int32_t j = static_cast<int32_t>(y_scaled);         // truncation, as cvttps2dq
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  const uint32_t sign_sin = static_cast<uint32_t>(j & 4) << 29;
  const bool sin_poly = (j & 2) == 0;  // which polynomial approximates the sine
  const uint32_t sign_cos = static_cast<uint32_t>(~(j - 2) & 4) << 29;
  // Extended-precision reduction x - y*pi/4 in three parts.
  x = std::fma(y, f32(-0.78515625), x);
  x = std::fma(y, f32(-2.4187564849853515625e-4), x);
  x = std::fma(y, f32(-3.77489497744594108e-8), x);
  const float z = x * x;
  float yc = std::fma(f32(2.443315711809948E-005), z, f32(-1.388731625493765E-003));
  yc = std::fma(yc, z, f32(4.166664568298827E-002));
  yc = yc * z;
  yc = std::fma(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;
  float ys = std::fma(f32(-1.9515295891E-4), z, f32(8.3321608736E-3));
  ys = std::fma(ys, z, f32(-1.6666654611E-1));
  ys = ys * z;
  ys = std::fma(ys, x, x);
  const float ysin2 = select_bits(sin_poly, ys);
  const float ysin1 = select_bits(!sin_poly, yc);
  ys = ys - ysin2;
  yc = yc - ysin1;
  *s = xor_sign(ysin1 + ysin2, sign_sin);
  *c = xor_sign(yc + ys, sign_cos);
}

// One block of 16 uniforms in [0, 1) becomes 16 normals: element j (< 8) gives the radius, j + 8 the angle.
void box_muller_16_avx2(float* d) {
  const float two_pi = f32(2.0 * kPi);
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j];  // (0, 1] for the log
    const float u2 = d[j + 8];
    const float radius = std::sqrt(-2.0f * cephes_log(u1));
    float s, c;
    cephes_sincos(two_pi * u2, &s, &c);
    // torch's final fmadd(n, std, mean) with std 1 and mean 0: exact, but turns -0.0 into +0.0.
    d[j] = std::fma(radius * c, 1.0f, 0.0f);
    d[j + 8] = std::fma(radius * s, 1.0f, 0.0f);
  }
}

// torch's scalar_t = float throughout: logf, cosf and sinf, the angle computed in double and rounded to float.
void box_muller_16_portable(float* d) {
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - d[j];
    const float u2 = d[j + 8];
    const float radius = std::sqrt(-2.0f * std::log(u1));
    const float theta = static_cast<float>(2.0 * kPi * static_cast<double>(u2));
    d[j] = radius * std::cos(theta) * 1.0f + 0.0f;
    d[j + 8] = radius * std::sin(theta) * 1.0f + 0.0f;
  }
}

}  // namespace

TorchGenerator::TorchGenerator(uint64_t seed, TorchNormalKernel kernel) : seed_(seed), kernel_(kernel) {
  state_[0] = static_cast<uint32_t>(seed);  // torch's mt19937 keeps only the low 32 bits
  for (int j = 1; j < kStateN; ++j) {
    state_[j] = 1812433253u * (state_[j - 1] ^ (state_[j - 1] >> 30)) + static_cast<uint32_t>(j);
  }
  index_ = kStateN;
}

void TorchGenerator::refill() {
  auto twist = [](uint32_t u, uint32_t v) {
    const uint32_t mixed = (u & 0x80000000u) | (v & 0x7fffffffu);
    return (mixed >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
  };
  for (int k = 0; k < kStateN; ++k) {
    state_[k] = state_[(k + kStateM) % kStateN] ^ twist(state_[k], state_[(k + 1) % kStateN]);
  }
  index_ = 0;
}

uint32_t TorchGenerator::next_u32() {
  if (index_ >= kStateN) refill();
  uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t TorchGenerator::next_u64() {
  const uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

float TorchGenerator::next_uniform_f24() {
  return static_cast<float>(next_u32() & 0xffffffu) * (1.0f / 16777216.0f);
}

double TorchGenerator::next_normal_f64() {
  if (cached_normal_) {
    const double v = *cached_normal_;
    cached_normal_.reset();
    return v;
  }
  const double u1 = static_cast<double>(next_u64() & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(next_u64() & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
  const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  const double theta = 2.0 * kPi * u1;
  cached_normal_ = r * std::sin(theta);
  return r * std::cos(theta);
}

std::vector<float> TorchGenerator::randn(int64_t numel) {
  if (numel < 0) fail("torch_randn: numel must be >= 0, got " + std::to_string(numel));
  std::vector<float> out(static_cast<size_t>(numel));
  if (numel < 16) {
    for (auto& v : out) v = static_cast<float>(next_normal_f64());
    return out;
  }
  auto block = kernel_ == TorchNormalKernel::Avx2 ? box_muller_16_avx2 : box_muller_16_portable;
  for (auto& v : out) v = next_uniform_f24();
  float* d = out.data();
  for (int64_t i = 0; i + 16 <= numel; i += 16) block(d + i);
  if (numel % 16 != 0) {
    float* tail = d + numel - 16;
    for (int i = 0; i < 16; ++i) tail[i] = next_uniform_f24();
    block(tail);
  }
  return out;
}

std::vector<float> torch_randn(uint64_t seed, int64_t numel, TorchNormalKernel kernel) {
  return TorchGenerator(seed, kernel).randn(numel);
}

}  // namespace ezivk
