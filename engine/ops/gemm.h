#pragma once
// Matrix products: Y[b] = A[b] · B[b]ᵀ (+ bias), B in the Linear weight layout [N, K] ([out, in]).
// fp32 accumulation for both storage types.
#include <optional>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/coopmat.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

struct GemmArgs {
  Tensor a;                   // [batch, M, K] or [M, K]
  Tensor b;                   // [N, K] (shared by every batch item) or [batch, N, K]
  std::optional<Tensor> bias; // [N]
  Tensor y;                   // [batch, M, N] or [M, N]
  // Row strides in elements (0: dense, K for A and N for Y): lets A and Y be column windows of wider
  // buffers (e.g. one third of a fused QKV projection).
  uint32_t lda = 0, ldy = 0;
  MatmulKernel kernel = MatmulKernel::Auto;
};

void gemm(gpu::Context& ctx, gpu::Recorder& rec, const GemmArgs& args);


// Linear layer on the last axis: x [..., K], w [N, K], y [..., N].
void linear(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias,
            const Tensor& y);

// CPU reference (double accumulation). a [batch·M·K], b [N·K] or [batch·N·K], bias [N] or empty.
std::vector<float> gemm_ref(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& bias,
                            int batch, int M, int N, int K, bool batched_b);

}  // namespace ezivk::ops
