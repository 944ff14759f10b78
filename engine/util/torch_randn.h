#pragma once
// Gaussian noise identical, bit for bit, to torch.randn(..., generator=torch.Generator().manual_seed(seed)) on
// the CPU in float32, so that a seed gives the same initial latent (and the same ancestral-sampler noise) as
// diffusers. Only the element count matters, not the shape.
//
// torch draws the values in three ways, all reproduced here:
// - fewer than 16 values: one double Box–Muller pair per two values from 53-bit uniforms, the second value of
//   a pair cached in the generator and used first by the next draw of fewer than 16;
// - 16 or more, torch's AVX2 kernel (what torch runs on an x86-64 CPU whose best capability is AVX2): 24-bit
//   float uniforms for the whole tensor, then Box–Muller over blocks of 16 (element i paired with i + 8) using
//   Cephes polynomial log and sincos; a tail shorter than 16 is redone from 16 fresh uniforms written over the
//   last 16 values;
// - 16 or more, torch's portable kernel (ATEN_CPU_CAPABILITY=default, CPUs without AVX2, and by torch's
//   source also its AVX-512 build, which was not available to check): the same blocks with logf, cosf and
//   sinf. It differs from the AVX2 one in the last bits of some values, and matches torch only where this
//   process's libm is glibc's, as torch's is.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace ezivk {

// Which of torch's two float kernels for 16 or more values to reproduce. Avx2 is what torch uses on common
// x86-64 machines, hence what most published seeds were made with.
enum class TorchNormalKernel { Avx2, Portable };

// torch's CPU generator: MT19937 seeded with the low 32 bits of the seed (torch keeps the full 64-bit value
// only to report it), plus the cached second Box–Muller value. Successive randn() calls continue the stream
// exactly as successive torch.randn calls on one generator do.
class TorchGenerator {
 public:
  explicit TorchGenerator(uint64_t seed, TorchNormalKernel kernel = TorchNormalKernel::Avx2);

  std::vector<float> randn(int64_t numel);
  uint64_t seed() const { return seed_; }

 private:
  uint32_t next_u32();
  uint64_t next_u64();
  float next_uniform_f24();
  double next_normal_f64();
  void refill();

  uint64_t seed_;
  TorchNormalKernel kernel_;
  std::array<uint32_t, 624> state_{};
  int index_ = 624;
  std::optional<double> cached_normal_;
};

std::vector<float> torch_randn(uint64_t seed, int64_t numel, TorchNormalKernel kernel = TorchNormalKernel::Avx2);

}  // namespace ezivk
