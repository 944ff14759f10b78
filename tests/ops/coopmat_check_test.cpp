// The cooperative-matrix self-check: it passes on this device's kernels, its verdict is remembered per device
// in the cache folder, a disagreeing kernel (simulated) is replaced by the portable one and stays replaced, and
// EZIVK_NO_COOPMAT / CPU drivers never reach it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/ops/coopmat.h"
#include "engine/ops/coopmat_check.h"
#include "engine/ops/gemm.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

class CoopmatCheckTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (!ops::coopmat_possible(ctx())) GTEST_SKIP() << "no usable cooperative matrices on this device";
    dir_ = fs::temp_directory_path() / ("ezivk_coopmat_check_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    ops::set_coopmat_check_fault("");
    fs::remove_all(dir_);
    GpuTest::TearDown();
  }
  // A context that picks the cooperative-matrix kernels automatically (forced on CPU drivers) and keeps its
  // verdicts under dir_.
  std::unique_ptr<gpu::Context> make(bool no_coopmat = false) {
    gpu::ContextOptions o;
    o.validation = true;
    o.force_coopmat = true;
    o.no_coopmat = no_coopmat;
    o.cache_dir = dir_.string();
    return std::make_unique<gpu::Context>(o);
  }
  static const ops::CoopmatKernelVerdict* find(const ops::CoopmatVerdicts& v, const std::string& k) {
    for (const auto& x : v.kernels)
      if (x.kernel == k) return &x;
    return nullptr;
  }
  void expect_clean(gpu::Context& c) {
    for (const auto& m : c.validation_messages()) ADD_FAILURE() << "validation message: " << m;
  }
  fs::path dir_;
};

TEST_F(CoopmatCheckTest, KernelsAgreeAndTheVerdictIsRemembered) {
  auto c = make();
  const ops::CoopmatVerdicts v = ops::coopmat_selfcheck(*c, false);
  EXPECT_FALSE(v.remembered);
  ASSERT_EQ(v.kernels.size(), 3u);
  for (const auto& k : v.kernels) {
    // Every kernel can run on a device with a shape (attention's limits hold for every shape dividing 32 with
    // a subgroup of 8..64 and 32 KiB of shared memory).
    EXPECT_TRUE(k.note.empty()) << k.kernel << ": " << k.note;
    EXPECT_TRUE(k.ok) << k.kernel << " error " << k.error;
    EXPECT_LE(k.error, ops::kCoopmatCheckLimit);
    EXPECT_GT(k.error, 0.0) << k.kernel << ": the two kernels round differently; identical output means one ran twice";
  }
  ASSERT_FALSE(v.path.empty());
  EXPECT_TRUE(fs::exists(v.path));
  EXPECT_EQ(fs::path(v.path).parent_path(), dir_);
  for (auto k : {ops::CoopmatKernel::Gemm, ops::CoopmatKernel::Conv2d, ops::CoopmatKernel::Attention})
    EXPECT_TRUE(ops::coopmat_allowed(*c, k)) << ops::coopmat_kernel_name(k);
  expect_clean(*c);

  // A new process (context) reads the file instead of checking again.
  auto d = make();
  const ops::CoopmatVerdicts again = ops::coopmat_selfcheck(*d);
  EXPECT_TRUE(again.remembered);
  EXPECT_EQ(again.path, v.path);
  ASSERT_EQ(again.kernels.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(again.kernels[i].kernel, v.kernels[i].kernel);
    EXPECT_EQ(again.kernels[i].ok, v.kernels[i].ok);
    EXPECT_NEAR(again.kernels[i].error, v.kernels[i].error, 1e-5 * v.kernels[i].error);
  }
  expect_clean(*d);
}

TEST_F(CoopmatCheckTest, ADisagreeingKernelFallsBackAndStaysOff) {
  ops::set_coopmat_check_fault("gemm");
  auto c = make();
  // The first automatic use runs the check: gemm fails it, the others pass.
  EXPECT_FALSE(ops::coopmat_allowed(*c, ops::CoopmatKernel::Gemm));
  EXPECT_TRUE(ops::coopmat_allowed(*c, ops::CoopmatKernel::Conv2d));
  EXPECT_EQ(c->coopmat_verdict("gemm"), std::optional<bool>(false));
  const auto v = ops::read_coopmat_verdicts(ops::coopmat_verdict_path(c->caps(), c->coopmat_shape(), dir_.string()));
  ASSERT_TRUE(v.has_value());
  ASSERT_NE(find(*v, "gemm"), nullptr);
  EXPECT_FALSE(find(*v, "gemm")->ok);
  EXPECT_GT(find(*v, "gemm")->error, ops::kCoopmatCheckLimit);
  EXPECT_TRUE(find(*v, "attention")->ok);

  // Auto gemm still computes the right thing (through the portable kernel).
  gpu::Arena ar(*c, "fallback", 1 << 20, gpu::MemoryUse::Device);
  const int M = 19, N = 23, K = 37;
  Guarded A(*c, ar, size_t(M) * K, DType::F16), B(*c, ar, size_t(N) * K, DType::F16), Y(*c, ar, size_t(M) * N, DType::F16);
  auto av = quantize(random_floats(size_t(M) * K, 31), DType::F16), bv = quantize(random_floats(size_t(N) * K, 32), DType::F16);
  A.upload(av);
  B.upload(bv);
  gpu::Recorder rec(*c);
  ops::gemm(*c, rec, {A.tensor({M, K}), B.tensor({N, K}), std::nullopt, Y.tensor({M, N})});
  rec.submit_and_wait();
  EXPECT_LE(normalized_error(Y.download(), quantize(ops::gemm_ref(av, bv, {}, 1, M, N, K, false), DType::F16)), 2e-3);
  expect_clean(*c);

  // The verdict is remembered: a later context keeps gemm off without checking again, even once the kernel
  // would pass; a fresh check (as `ezivk devices --selfcheck` runs) clears it.
  ops::set_coopmat_check_fault("");
  auto d = make();
  EXPECT_FALSE(ops::coopmat_allowed(*d, ops::CoopmatKernel::Gemm));
  const auto fresh = ops::coopmat_selfcheck(*d, false);
  EXPECT_FALSE(fresh.remembered);
  EXPECT_TRUE(ops::coopmat_allowed(*d, ops::CoopmatKernel::Gemm));
  expect_clean(*d);
}

TEST_F(CoopmatCheckTest, SwitchedOffMeansNeitherCheckNorKernel) {
  auto c = make(/*no_coopmat=*/true);
  EXPECT_FALSE(c->coopmat());
  for (auto k : {ops::CoopmatKernel::Gemm, ops::CoopmatKernel::Conv2d, ops::CoopmatKernel::Attention})
    EXPECT_FALSE(ops::coopmat_allowed(*c, k));
  EXPECT_FALSE(fs::exists(ops::coopmat_verdict_path(c->caps(), c->coopmat_shape(), dir_.string())));
  // The default context on a CPU driver does not choose them either (the portable kernels are faster there).
  if (ctx().caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    EXPECT_FALSE(ctx().coopmat());
  }
}

TEST_F(CoopmatCheckTest, ADamagedVerdictFileIsCheckedAgain) {
  auto c = make();
  const std::string path = ops::coopmat_verdict_path(c->caps(), c->coopmat_shape(), dir_.string());
  fs::create_directories(dir_);
  std::ofstream(path) << "gemm maybe 0.1\n";
  EXPECT_FALSE(ops::read_coopmat_verdicts(path).has_value());
  std::ofstream(path) << "gemm ok 0.001\nconv2d ok 0.001\n";  // attention's verdict missing
  EXPECT_FALSE(ops::read_coopmat_verdicts(path).has_value());
  std::ofstream(path) << "gemm failed 1e+30\nconv2d ok 0.001\nattention n/a 0 needs more shared memory\n";
  const auto parsed = ops::read_coopmat_verdicts(path);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->kernels[0].ok);
  EXPECT_TRUE(parsed->kernels[1].ok);
  EXPECT_EQ(parsed->kernels[2].note, "needs more shared memory");
  fs::remove(path);
  const auto v = ops::coopmat_selfcheck(*c);
  EXPECT_FALSE(v.remembered);
  EXPECT_TRUE(ops::read_coopmat_verdicts(path).has_value());
  // The file name carries the shape and the kernels' build: another shape is another file.
  gpu::CoopMatShape other = c->coopmat_shape();
  other.k *= 2;
  EXPECT_NE(ops::coopmat_verdict_path(c->caps(), other, dir_.string()), path);
  expect_clean(*c);
}

}  // namespace
}  // namespace ezivk::test
