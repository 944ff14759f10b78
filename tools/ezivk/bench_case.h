#pragma once
// One benchmark case of `ezivk bench ops` and the buffers it owns. Each op family adds its cases in a
// bench_ops_<family>.cpp through add_*_benchmarks.
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::cli {

struct Case {
  std::string op, shape;
  double flops = 0, bytes = 0;  // one of the two: compute-bound rows count FLOPs, memory-bound rows bytes
  std::function<void(gpu::Recorder&)> record;
};

// Device memory of one case; tensors are filled with random values in [-1, 1] so timing sees real data.
class Bufs {
 public:
  Bufs(gpu::Context& ctx, uint64_t capacity);
  ops::Tensor make(ops::DType t, std::vector<int64_t> shape);
  gpu::Slice raw(uint64_t bytes) { return arena_.alloc(bytes); }

 private:
  gpu::Context& ctx_;
  gpu::Arena arena_;
};

using CaseMaker = std::function<Case(Bufs&)>;

std::string dims(std::initializer_list<int64_t> d, const char* sep = "x");

// Attention, norms and element-wise cases at latent side L.
void add_extra_op_benchmarks(gpu::Context& ctx, ops::DType dt, int L, std::vector<CaseMaker>& makers);

}  // namespace ezivk::cli
