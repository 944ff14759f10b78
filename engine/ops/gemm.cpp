#include "engine/ops/gemm.h"

#include <algorithm>
#include <string>

#include "engine/ops/dispatch_util.h"

namespace ezivk::ops {
namespace {

// Register tile per workgroup: TM rows broadcast to every lane, WG lanes × TN columns. Chosen by
// measurement on lavapipe (docs/kernels.md); devices with matrix cores use the cooperative-matrix kernel.
constexpr uint32_t kWg = 64, kTm = 8, kTn = 8;       // gemm_simd (any K)
constexpr uint32_t kWg4 = 8, kTm4 = 32, kTn4 = 16;   // gemm_simd4: loads are what cost on CPU drivers, so a
                                                    // large tile (48 loads per 512 FMAs) wins despite spills

}  // namespace

void gemm(gpu::Context& ctx, gpu::Recorder& rec, const GemmArgs& g) {
  const char* op = "gemm";
  const bool batched_a = g.a.rank() == 3;
  if (g.a.rank() != 2 && !batched_a) fail("gemm: a must be [M, K] or [batch, M, K], got " + shape_string(g.a.shape));
  const int64_t batch = batched_a ? g.a.dim(0) : 1, M = g.a.dim(-2), K = g.a.dim(-1);
  const bool batched_b = g.b.rank() == 3;
  const int64_t N = g.b.dim(-2);
  if (batched_b)
    expect_shape(op, "b", g.b, {batch, N, K});
  else
    expect_shape(op, "b", g.b, {N, K});
  if (batched_a)
    expect_shape(op, "y", g.y, {batch, M, N});
  else
    expect_shape(op, "y", g.y, {M, N});
  if (g.bias) expect_shape(op, "bias", *g.bias, {N});
  for (const Tensor* t : {&g.b, &g.y}) expect_dtype(op, "every operand", *t, g.a.dtype);
  if (g.bias) expect_dtype(op, "bias", *g.bias, g.a.dtype);
  const uint32_t lda = g.lda ? g.lda : uint32_t(K), ldy = g.ldy ? g.ldy : uint32_t(N);
  if (lda < K || ldy < N) fail("gemm: row strides must be at least the row length");
  // With explicit strides the tensors' own shapes no longer bound the reach: check it against the bytes.
  const size_t es = dtype_bytes(g.a.dtype);
  if (((batch - 1) * M * lda + (M - 1) * lda + K) * es > g.a.data.size) fail("gemm: a's strided view exceeds its buffer");
  if (((batch - 1) * M * ldy + (M - 1) * ldy + N) * es > g.y.data.size) fail("gemm: y's strided view exceeds its buffer");
  if (M > 0xffffffffll / lda || M * batch > 0x7fffffffll) fail("gemm: problem too large for 32-bit indexing");

  const bool coopmat = resolve_coopmat(ctx, CoopmatKernel::Gemm, g.kernel, g.a.dtype, op);
  // Runs of rows that each fit one storage binding (the feed-forward's [tokens, 8C] at large sizes does not);
  // one batch item per dispatch when a batched product must be split.
  const uint64_t a_rows_bytes = uint64_t(lda) * es, y_rows_bytes = uint64_t(ldy) * es;
  const bool whole = rows_per_binding(ctx, op, {a_rows_bytes, y_rows_bytes}, uint64_t(batch * M)) == uint64_t(batch * M);
  uint64_t run = whole ? uint64_t(M) : rows_per_binding(ctx, op, {a_rows_bytes, y_rows_bytes}, uint64_t(M));
  if (run < uint64_t(M) && run >= 64) run -= run % 64;  // whole tiles where the range allows
  const int64_t dispatch_batch = whole ? batch : 1;
  const gpu::Slice bias = g.bias ? g.bias->data : g.b.data;  // bound but unread without a bias
  // A run whose rows start off a vec4 boundary takes the scalar kernel; each kernel is looked up once.
  const gpu::Pipeline* pipes[2] = {nullptr, nullptr};
  auto pipeline_for = [&](bool vec4) -> const gpu::Pipeline& {
    const gpu::Pipeline*& p = pipes[vec4 ? 1 : 0];
    if (!p) {
      const uint32_t spec_simd[] = {vec4 ? kWg4 : kWg, vec4 ? kTm4 : kTm, vec4 ? kTn4 : kTn};
      p = coopmat ? &ctx.pipeline("gemm/gemm_coopmat_" + coopmat_variant(ctx), coopmat_spec(ctx, 4))
                  : &ctx.pipeline(std::string("gemm/gemm_") + (vec4 ? "simd4_" : "simd_") + variant(g.a.dtype), spec_simd);
    }
    return *p;
  };
  for (int64_t bi = 0; bi < batch; bi += dispatch_batch) {
    for (uint64_t m0 = 0; m0 < uint64_t(M); m0 += run) {
      const uint64_t rows = std::min(run, uint64_t(M) - m0);
      gpu::Slice as = g.a.data, ys = g.y.data, bs = g.b.data;
      if (!whole) {
        const uint64_t ra = uint64_t(bi) * M + m0;
        as = g.a.data.sub(ra * a_rows_bytes, (rows - 1) * a_rows_bytes + uint64_t(K) * es);
        ys = g.y.data.sub(ra * y_rows_bytes, (rows - 1) * y_rows_bytes + uint64_t(N) * es);
        if (batched_b) bs = g.b.data.sub(uint64_t(bi) * N * K * es, uint64_t(N) * K * es);
      }
      const AlignedView av = aligned_view(ctx, as, es), yv = aligned_view(ctx, ys, es);
      const bool vec4 = K % 4 == 0 && lda % 4 == 0 && av.elements % 4 == 0;
      const uint32_t wg = vec4 ? kWg4 : kWg, tm = vec4 ? kTm4 : kTm, tn = vec4 ? kTn4 : kTn;
      const auto& p = pipeline_for(vec4);
      struct {
        uint32_t M, N, K, lda, ldy, ba, bb, by, has_bias, off_a, off_y;
      } push{uint32_t(rows), uint32_t(N), uint32_t(K), lda, ldy, uint32_t(M * lda), batched_b ? uint32_t(N * K) : 0u,
             uint32_t(M * ldy), g.bias ? 1u : 0u, av.elements, yv.elements};
      const uint32_t gx = coopmat ? ceil_div(uint64_t(N), 64) : ceil_div(uint64_t(N), uint64_t(wg) * tn);
      const uint32_t gy = coopmat ? ceil_div(rows, 64) : ceil_div(rows, tm);
      rec.dispatch(p, {{av.slice, gpu::Access::Read}, {bs, gpu::Access::Read}, {bias, gpu::Access::Read}, {yv.slice, gpu::Access::Write}},
                   push, gx, gy, uint32_t(dispatch_batch), "gemm");
    }
  }
}

void linear(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias,
            const Tensor& y) {
  if (x.rank() < 1 || y.rank() != x.rank()) fail("linear: x and y must have the same rank, got " + shape_string(x.shape) + " and " + shape_string(y.shape));
  const int64_t K = x.dim(-1), M = x.numel() / K, N = w.dim(0);
  for (size_t i = 0; i + 1 < x.rank(); ++i)
    if (x.shape[i] != y.shape[i]) fail("linear: x " + shape_string(x.shape) + " and y " + shape_string(y.shape) + " differ before the last axis");
  GemmArgs g{{x.data, x.dtype, {M, K}}, w, bias, {y.data, y.dtype, {M, N}}};
  gemm(ctx, rec, g);
}

std::vector<float> gemm_ref(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& bias,
                            int batch, int M, int N, int K, bool batched_b) {
  std::vector<float> y(size_t(batch) * M * N);
  for (int bi = 0; bi < batch; ++bi) {
    const float* B = b.data() + (batched_b ? size_t(bi) * N * K : 0);
    for (int m = 0; m < M; ++m) {
      const float* A = a.data() + (size_t(bi) * M + m) * K;
      for (int n = 0; n < N; ++n) {
        double s = bias.empty() ? 0.0 : bias[n];
        for (int k = 0; k < K; ++k) s += double(A[k]) * B[size_t(n) * K + k];
        y[(size_t(bi) * M + m) * N + n] = float(s);
      }
    }
  }
  return y;
}

}  // namespace ezivk::ops
