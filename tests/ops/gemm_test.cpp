#include <gtest/gtest.h>

#include "engine/util/error.h"
#include "engine/ops/gemm.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

struct GemmCase {
  int batch, M, N, K;
  bool batched_b, bias;
  DType dt;
};

std::string case_name(const GemmCase& c) {
  return "b" + std::to_string(c.batch) + "_" + std::to_string(c.M) + "x" + std::to_string(c.N) + "x" + std::to_string(c.K) +
         (c.batched_b ? "_bb" : "") + (c.bias ? "_bias" : "") + "_" + dtype_name(c.dt);
}

void PrintTo(const GemmCase& c, std::ostream* os) { *os << case_name(c); }

class GemmTest : public GpuTest, public ::testing::WithParamInterface<GemmCase> {};

void check_gemm(gpu::Context& ctx, const GemmCase& c, ops::MatmulKernel kernel = ops::MatmulKernel::Auto, double f16_tol = 2e-3);

// The default path, the portable kernel, and the cooperative-matrix kernel in the device's fragment shape (every
// case in fp16, the only type it takes; 8×8×8 on lavapipe 26), also with fp16 accumulators where the device
// offers such a shape (a looser limit: each partial sum rounds to fp16).
TEST_P(GemmTest, MatchesReference) { check_gemm(ctx(), GetParam()); }
TEST_P(GemmTest, PortableKernelMatchesReference) { check_gemm(ctx(), GetParam(), ops::MatmulKernel::Portable); }
TEST_P(GemmTest, CoopmatKernelMatchesReference) {
  if (!ops::coopmat_possible(ctx())) GTEST_SKIP() << "no usable cooperative matrices on this device";
  GemmCase c = GetParam();
  c.dt = DType::F16;
  check_gemm(ctx(), c, ops::MatmulKernel::Coopmat);
}
TEST_P(GemmTest, CoopmatAcc16KernelMatchesReference) {
  gpu::Context* acc16 = acc16_context();
  if (!acc16) GTEST_SKIP() << "no cooperative-matrix shape with fp16 accumulators on this device";
  GemmCase c = GetParam();
  c.dt = DType::F16;
  check_gemm(*acc16, c, ops::MatmulKernel::Coopmat, 1e-2);
}

void check_gemm(gpu::Context& ctx, const GemmCase& c, ops::MatmulKernel kernel, double f16_tol) {
  gpu::Arena ar(ctx, "gemm", 64 << 20, gpu::MemoryUse::Device);
  const size_t na = size_t(c.batch) * c.M * c.K, nb = size_t(c.batched_b ? c.batch : 1) * c.N * c.K, ny = size_t(c.batch) * c.M * c.N;
  Guarded A(ctx, ar, na, c.dt), B(ctx, ar, nb, c.dt), Bias(ctx, ar, c.N, c.dt), Y(ctx, ar, ny, c.dt);
  auto av = quantize(random_floats(na, 1 + c.M), c.dt), bv = quantize(random_floats(nb, 2 + c.N), c.dt);
  auto biasv = c.bias ? quantize(random_floats(c.N, 3 + c.K), c.dt) : std::vector<float>{};
  A.upload(av);
  B.upload(bv);
  if (c.bias) Bias.upload(biasv);
  ops::GemmArgs g;
  g.a = c.batch > 1 ? A.tensor({c.batch, c.M, c.K}) : A.tensor({c.M, c.K});
  g.b = c.batched_b ? B.tensor({c.batch, c.N, c.K}) : B.tensor({c.N, c.K});
  if (c.bias) g.bias = Bias.tensor({c.N});
  g.y = c.batch > 1 ? Y.tensor({c.batch, c.M, c.N}) : Y.tensor({c.M, c.N});
  g.kernel = kernel;
  gpu::Recorder rec(ctx);
  ops::gemm(ctx, rec, g);
  rec.submit_and_wait();
  auto want = quantize(ops::gemm_ref(av, bv, biasv, c.batch, c.M, c.N, c.K, c.batched_b), c.dt);
  EXPECT_LE(normalized_error(Y.download(), want), c.dt == DType::F16 ? f16_tol : 1e-5);
  EXPECT_TRUE(Y.guards_intact());
  EXPECT_TRUE(A.guards_intact() && B.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{1, 1, 1, 1, false, false, DType::F32}, GemmCase{1, 7, 13, 5, false, true, DType::F32},
                                           GemmCase{1, 77, 1024, 64, false, true, DType::F32},  // K % 4 == 0: vec4 path
                                           GemmCase{1, 64, 64, 64, false, false, DType::F16},
                                           GemmCase{1, 65, 130, 67, false, true, DType::F16},
                                           GemmCase{3, 33, 40, 24, false, true, DType::F32}, GemmCase{2, 17, 9, 31, true, false, DType::F32},
                                           GemmCase{2, 100, 72, 320, true, true, DType::F16},
                                           GemmCase{1, 256, 513, 129, false, true, DType::F32}),
                         [](const auto& i) { return case_name(i.param); });

// Against a 16 KiB storage-buffer range these operands need several bindings: runs of 64 rows (one dispatch
// each, rows starting at offsets that are not binding-aligned), one batch item at a time for batched products.
class GemmSplitTest : public GemmTest {};
TEST_P(GemmSplitTest, RowRunsMatchReference) { check_gemm(small_range_context(), GetParam()); }
TEST_P(GemmSplitTest, PortableRowRunsMatchReference) {
  check_gemm(small_range_context(), GetParam(), ops::MatmulKernel::Portable);
}
INSTANTIATE_TEST_SUITE_P(Shapes, GemmSplitTest,
                         ::testing::Values(GemmCase{1, 300, 50, 40, false, true, DType::F32},  // y rows 200 B: 64-row runs
                                           GemmCase{1, 333, 70, 37, false, true, DType::F16},
                                           GemmCase{3, 100, 45, 24, true, true, DType::F32},   // per item, then runs
                                           GemmCase{2, 70, 30, 130, false, false, DType::F32}),
                         [](const auto& i) { return case_name(i.param); });

using GemmEdgeTest = GpuTest;

TEST_F(GemmEdgeTest, Fp16AccumulatesInFp32) {
  // Partial sums reach ~1e5 (beyond fp16's 65504) and cancel back to small results: an fp16 accumulator
  // overflows to inf, fp32 does not.
  const int M = 9, N = 5, K = 2560;
  gpu::Arena ar(ctx(), "ovf", 16 << 20, gpu::MemoryUse::Device);
  Guarded A(ctx(), ar, size_t(M) * K, DType::F16), B(ctx(), ar, size_t(N) * K, DType::F16), Y(ctx(), ar, size_t(M) * N, DType::F16);
  auto noise = random_floats(size_t(M) * K, 11, -0.5f, 0.5f);
  std::vector<float> av(size_t(M) * K), bv = random_floats(size_t(N) * K, 12, 7.5f, 8.5f);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) av[size_t(m) * K + k] = (k < K / 2 ? 10.f : -10.f) + noise[size_t(m) * K + k];
  av = quantize(av, DType::F16);
  bv = quantize(bv, DType::F16);
  A.upload(av);
  B.upload(bv);
  auto want = quantize(ops::gemm_ref(av, bv, {}, 1, M, N, K, false), DType::F16);
  EXPECT_LT(max_abs(want), 65504.0);
  for (auto kernel : {ops::MatmulKernel::Portable, ops::MatmulKernel::Coopmat}) {
    if (kernel == ops::MatmulKernel::Coopmat && !ops::coopmat_possible(ctx())) continue;
    ops::GemmArgs g{A.tensor({M, K}), B.tensor({N, K}), std::nullopt, Y.tensor({M, N})};
    g.kernel = kernel;
    gpu::Recorder rec(ctx());
    ops::gemm(ctx(), rec, g);
    rec.submit_and_wait();
    EXPECT_LE(normalized_error(Y.download(), want), 2e-3) << (kernel == ops::MatmulKernel::Coopmat ? "coopmat" : "portable");
  }
}

TEST_F(GemmEdgeTest, StridedViewsOfAWiderBuffer) {
  // A and Y as column windows (the middle third of a fused [M, 3K] buffer).
  const int M = 21, N = 19, K = 12;
  gpu::Arena ar(ctx(), "strided", 1 << 20, gpu::MemoryUse::Device);
  Guarded A(ctx(), ar, size_t(M) * 3 * K, DType::F32), B(ctx(), ar, size_t(N) * K, DType::F32), Y(ctx(), ar, size_t(M) * 2 * N, DType::F32);
  auto av = random_floats(size_t(M) * 3 * K, 5), bv = random_floats(size_t(N) * K, 6), yinit = random_floats(size_t(M) * 2 * N, 7);
  A.upload(av);
  B.upload(bv);
  Y.upload(yinit);
  ops::GemmArgs g;
  g.a = {A.slice().sub(K * 4, (size_t(M) * 3 * K - K) * 4), DType::F32, {M, K}};
  g.b = B.tensor({N, K});
  g.y = {Y.slice().sub(N * 4, (size_t(M) * 2 * N - N) * 4), DType::F32, {M, N}};
  g.lda = uint32_t(3 * K);
  g.ldy = uint32_t(2 * N);
  gpu::Recorder rec(ctx());
  ops::gemm(ctx(), rec, g);
  rec.submit_and_wait();
  std::vector<float> amid(size_t(M) * K);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) amid[size_t(m) * K + k] = av[size_t(m) * 3 * K + K + k];
  auto ref = ops::gemm_ref(amid, bv, {}, 1, M, N, K, false);
  auto want = yinit;  // the first N columns of every row stay untouched
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) want[size_t(m) * 2 * N + N + n] = ref[size_t(m) * N + n];
  EXPECT_LE(normalized_error(Y.download(), want), 1e-5);
  EXPECT_TRUE(Y.guards_intact());
}

TEST_F(GemmEdgeTest, ShapeErrorsNameTheOperand) {
  gpu::Arena ar(ctx(), "bad", 1 << 16, gpu::MemoryUse::Device);
  auto s = ar.alloc(4096);
  gpu::Recorder rec(ctx());
  try {
    ops::gemm(ctx(), rec, {{s, DType::F32, {4, 8}}, {s, DType::F32, {3, 7}}, std::nullopt, {s, DType::F32, {4, 3}}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gemm: b"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::gemm(ctx(), rec, {{s, DType::F32, {64, 64}}, {s, DType::F32, {8, 64}}, std::nullopt, {s, DType::F32, {64, 8}}}), Error);
}

}  // namespace
}  // namespace ezivk::test
