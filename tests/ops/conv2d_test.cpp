#include <gtest/gtest.h>

#include "engine/util/error.h"
#include "engine/ops/conv2d.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

struct ConvCase {
  ops::Conv2dShape s;
  bool bias;
  DType dt;
  const char* name;
};

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class Conv2dTest : public GpuTest, public ::testing::WithParamInterface<ConvCase> {};

void check_conv(gpu::Context& ctx, const ConvCase& c, ops::ConvWeightLayout layout,
                ops::MatmulKernel kernel = ops::MatmulKernel::Auto, double f16_tol = 2e-3);

// As gemm: the default path, the portable kernel, and the cooperative-matrix kernel (every case in fp16, both
// weight layouts; fp16 accumulators too where offered).
TEST_P(Conv2dTest, MatchesReference) { check_conv(ctx(), GetParam(), ops::ConvWeightLayout::OIHW); }
TEST_P(Conv2dTest, PreparedWeightsMatchReference) { check_conv(ctx(), GetParam(), ops::ConvWeightLayout::OHWI); }
TEST_P(Conv2dTest, PortableKernelMatchesReference) {
  check_conv(ctx(), GetParam(), ops::ConvWeightLayout::OHWI, ops::MatmulKernel::Portable);
}
TEST_P(Conv2dTest, CoopmatKernelMatchesReference) {
  if (!ops::coopmat_possible(ctx())) GTEST_SKIP() << "no usable cooperative matrices on this device";
  ConvCase c = GetParam();
  c.dt = DType::F16;
  check_conv(ctx(), c, ops::ConvWeightLayout::OIHW, ops::MatmulKernel::Coopmat);
  check_conv(ctx(), c, ops::ConvWeightLayout::OHWI, ops::MatmulKernel::Coopmat);
}
TEST_P(Conv2dTest, CoopmatAcc16KernelMatchesReference) {
  gpu::Context* acc16 = acc16_context();
  if (!acc16) GTEST_SKIP() << "no cooperative-matrix shape with fp16 accumulators on this device";
  ConvCase c = GetParam();
  c.dt = DType::F16;
  check_conv(*acc16, c, ops::ConvWeightLayout::OHWI, ops::MatmulKernel::Coopmat, 1e-2);
}

void check_conv(gpu::Context& ctx, const ConvCase& c, ops::ConvWeightLayout layout, ops::MatmulKernel kernel, double f16_tol) {
  const auto& s = c.s;
  const int OH = ops::conv_out_size(s.H, s.KH, s.stride, s.pad_top, s.pad_bottom);
  const int OW = ops::conv_out_size(s.W, s.KW, s.stride, s.pad_left, s.pad_right);
  const size_t nx = size_t(s.B) * s.Cin * s.H * s.W, nw = size_t(s.Cout) * s.Cin * s.KH * s.KW, ny = size_t(s.B) * s.Cout * OH * OW;
  gpu::Arena ar(ctx, "conv", 64 << 20, gpu::MemoryUse::Device);
  Guarded X(ctx, ar, nx, c.dt), Wt(ctx, ar, nw, c.dt), Bias(ctx, ar, s.Cout, c.dt), Y(ctx, ar, ny, c.dt);
  auto xv = quantize(random_floats(nx, 100 + s.H), c.dt), wv = quantize(random_floats(nw, 200 + s.Cout), c.dt);
  auto bv = c.bias ? quantize(random_floats(s.Cout, 300), c.dt) : std::vector<float>{};
  X.upload(xv);
  const bool ohwi = layout == ops::ConvWeightLayout::OHWI;
  Wt.upload(ohwi ? ops::conv2d_weights_to_ohwi(wv, s.Cout, s.Cin, s.KH, s.KW) : wv);
  if (c.bias) Bias.upload(bv);
  ops::Conv2dArgs a;
  a.x = X.tensor({s.B, s.Cin, s.H, s.W});
  a.w = ohwi ? Wt.tensor({s.Cout, s.KH, s.KW, s.Cin}) : Wt.tensor({s.Cout, s.Cin, s.KH, s.KW});
  a.w_layout = layout;
  if (c.bias) a.bias = Bias.tensor({s.Cout});
  a.y = Y.tensor({s.B, s.Cout, OH, OW});
  a.stride = s.stride;
  a.pad_top = s.pad_top;
  a.pad_left = s.pad_left;
  a.pad_bottom = s.pad_bottom;
  a.pad_right = s.pad_right;
  a.kernel = kernel;
  gpu::Recorder rec(ctx);
  ops::conv2d(ctx, rec, a);
  rec.submit_and_wait();
  auto want = quantize(ops::conv2d_ref(xv, wv, bv, s), c.dt);
  EXPECT_LE(normalized_error(Y.download(), want), c.dt == DType::F16 ? f16_tol : 1e-5);
  EXPECT_TRUE(Y.guards_intact());
  EXPECT_TRUE(X.guards_intact() && Wt.guards_intact());
}

// {B, Cin, H, W, Cout, KH, KW, stride, pad_top, pad_left, pad_bottom, pad_right}
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dTest,
    ::testing::Values(ConvCase{{1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1}, true, DType::F32, "k3_odd_f32"},
                      ConvCase{{2, 8, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1}, true, DType::F16, "k3_aligned_f16"},
                      ConvCase{{1, 6, 9, 11, 7, 3, 3, 2, 1, 1, 1, 1}, true, DType::F32, "k3_stride2_f32"},
                      ConvCase{{1, 4, 8, 8, 6, 3, 3, 2, 0, 0, 1, 1}, true, DType::F32, "vae_down_asym_f32"},
                      ConvCase{{1, 5, 9, 7, 3, 3, 3, 2, 0, 0, 1, 1}, false, DType::F16, "vae_down_asym_odd_f16"},
                      ConvCase{{2, 12, 5, 3, 9, 1, 1, 1, 0, 0, 0, 0}, true, DType::F32, "k1_f32"},
                      ConvCase{{1, 320, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1}, true, DType::F16, "k3_wide_cin_f16"},
                      ConvCase{{1, 4, 3, 3, 300, 3, 3, 1, 1, 1, 1, 1}, true, DType::F32, "k3_many_cout_f32"}),
    [](const auto& i) { return std::string(i.param.name); });

using Conv2dEdgeTest = GpuTest;

TEST_F(Conv2dEdgeTest, BadShapesAreClearErrors) {
  gpu::Arena ar(ctx(), "bad", 1 << 16, gpu::MemoryUse::Device);
  auto s = ar.alloc(8192);
  gpu::Recorder rec(ctx());
  ops::Conv2dArgs a;
  a.x = {s, DType::F32, {1, 4, 8, 8}};
  a.w = {s, DType::F32, {2, 3, 3, 3}};  // Cin mismatch
  a.y = {s, DType::F32, {1, 2, 8, 8}};
  a.pad_top = a.pad_left = a.pad_bottom = a.pad_right = 1;
  try {
    ops::conv2d(ctx(), rec, a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d: w"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ezivk::test
