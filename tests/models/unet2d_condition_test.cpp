// The UNet against golden tensors from the independent PyTorch reference (tools/fixtures/sd_reference.py) on the
// tiny random-weight folders: final output and every block boundary, fp32 and fp16, two latent sizes.
#include "engine/models/unet2d_condition.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <cmath>
#include <map>

#include "engine/io/npy.h"
#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;
using models::Act;
using models::Graph;
using ops::Tensor;

struct UNetCase {
  std::string model, res;
  DType dtype;
};
void PrintTo(const UNetCase& c, std::ostream* os) { *os << c.model << " " << c.res << " " << dtype_name(c.dtype); }

class UNetGolden : public GpuTest, public ::testing::WithParamInterface<UNetCase> {};

void check_unet(gpu::Context& ctx, const UNetCase& p);

TEST_P(UNetGolden, MatchesReferenceAtEveryBlock) {
  if (GetParam().dtype == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16 on this device";
  check_unet(ctx(), GetParam());
}

// The whole model once more with every GEMM and convolution on the cooperative-matrix kernels (forced, so CPU
// drivers such as lavapipe 26 run them too; the tiny model's 2- and 4-wide heads keep attention portable).
TEST_P(UNetGolden, MatchesReferenceOnCooperativeMatrices) {
  if (GetParam().dtype != DType::F16) GTEST_SKIP() << "the cooperative-matrix kernels take fp16";
  gpu::Context* cm = forced_coopmat_context();
  if (!cm) GTEST_SKIP() << "no usable cooperative matrices on this device";
  check_unet(*cm, GetParam());
}

void check_unet(gpu::Context& ctx, const UNetCase& p) {
  const models::ModelFolder folder(model_dir(p.model));
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", &ctx, p.dtype);
  EXPECT_TRUE(unet.report.unused.empty()) << "unused tensor " << unet.report.unused.front();

  const std::string pre = "unet_" + p.res + "_";
  const auto sample = load_golden(p.model, pre + "sample.npy");
  const auto timestep = load_golden(p.model, pre + "timestep.npy");
  const auto context = load_golden(p.model, pre + "context.npy");
  const DeviceTensor xd(ctx, sample.shape, p.dtype, sample.values);
  const DeviceTensor td(ctx, timestep.shape, DType::F32, timestep.values);
  const DeviceTensor cd(ctx, context.shape, p.dtype, context.values);
  const Tensor &x = xd.tensor(), &t = td.tensor(), &c = cd.tensor();

  const ScratchDir dump_dir("unet_dump");
  const models::DumpOptions dump{dump_dir.path(), {}};
  models::GraphRunner runner(ctx, "unet test");
  const Tensor out = runner.run(p.dtype, [&](Graph& g) { return unet.model->forward(g, x, t, c); }, &dump);

  const double tol = golden_tolerance(p.dtype);
  const auto want = load_golden(p.model, pre + "out.npy");
  EXPECT_EQ(out.shape, want.shape);
  const double err = relative_l2(models::download_floats(ctx, out), want.values);
  EXPECT_LE(err, tol) << "unet output";
  std::printf("%s %s %s: unet output rel. L2 %.2e\n", p.model.c_str(), p.res.c_str(), dtype_name(p.dtype), err);
  // Block boundaries: the first failing one locates a divergence.
  int compared = 0;
  for (auto& e : fs::directory_iterator(dump_dir.path())) {
    const std::string name = e.path().stem().string();  // unet.down_blocks.0
    const std::string gold = pre + name.substr(5) + ".npy";  // unet_r0_down_blocks.0.npy
    if (!fs::exists(golden_dir(p.model) / gold)) continue;
    const auto got = io::read_npy(e.path());
    const auto ref = load_golden(p.model, gold);
    EXPECT_EQ(got.shape, ref.shape) << name;
    EXPECT_LE(relative_l2(got.as_f32(), ref.values), tol) << name;
    ++compared;
  }
  // time_emb, conv_in, out, mid and every down/up block.
  const int64_t levels = int64_t(unet.config.levels());
  EXPECT_EQ(compared, 4 + 2 * levels);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, UNetGolden,
                         ::testing::Values(UNetCase{"sd2-tiny", "r0", DType::F32}, UNetCase{"sd2-tiny", "r1", DType::F32},
                                           UNetCase{"sd2-tiny", "r0", DType::F16}, UNetCase{"sd2-tiny", "r1", DType::F16},
                                           // 10x6: does not divide by the 4x downsampling (resize to each skip)
                                           UNetCase{"sd2-tiny", "r2", DType::F32}, UNetCase{"sd2-tiny", "r2", DType::F16},
                                           UNetCase{"sd1-tiny", "r0", DType::F32}, UNetCase{"sd1-tiny", "r1", DType::F32},
                                           UNetCase{"sd1-tiny", "r1", DType::F16},
                                           // head widths 6 and 5: the attention kernels' `_any` variants
                                           UNetCase{"odd-tiny", "r0", DType::F32}, UNetCase{"odd-tiny", "r1", DType::F16}),
                         [](const auto& info) {
                           std::string m = info.param.model;
                           for (auto& ch : m)
                             if (ch == '-') ch = '_';
                           return m + "_" + info.param.res + "_" + dtype_name(info.param.dtype);
                         });

using UNetLoadErrors = GpuTest;

// The planned activation memory is what the run uses (the plan and the run take the same path), for a latent
// whose size does not divide by the UNet's 4x downsampling (upsamplers then resize to each skip's size).
TEST_F(UNetLoadErrors, PlanMatchesRunAtSizesThatDoNotDivide) {
  const models::ModelFolder folder(model_dir("sd2-tiny"));
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", &ctx(), DType::F32);
  const DeviceTensor x(ctx(), {2, 4, 6, 10}, DType::F32, random_floats(2 * 4 * 6 * 10, 1));
  const DeviceTensor t(ctx(), {2}, DType::F32, {999.f, 10.f});
  const DeviceTensor c(ctx(), {2, 77, 32}, DType::F32, random_floats(2 * 77 * 32, 2));
  models::GraphRunner runner(ctx(), "unet test");
  auto fwd = [&](Graph& g) { return unet.model->forward(g, x.tensor(), t.tensor(), c.tensor()); };
  const uint64_t planned = runner.plan(DType::F32, fwd);
  const Tensor out = runner.run(DType::F32, fwd);
  EXPECT_EQ(out.shape, (std::vector<int64_t>{2, 4, 6, 10}));
  EXPECT_GE(runner.activation_bytes(), planned);
  for (float v : models::download_floats(ctx(), out)) ASSERT_TRUE(std::isfinite(v));
  // A wrong context width is refused by name before anything is recorded.
  const DeviceTensor bad(ctx(), {2, 77, 31}, DType::F32, random_floats(2 * 77 * 31, 3));
  try {
    runner.run(DType::F32, [&](Graph& g) { return unet.model->forward(g, x.tensor(), t.tensor(), bad.tensor()); });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
}

TEST(UNetDryLoad, CountsParametersWithoutTheDevice) {
  const models::ModelFolder folder(model_dir("sd2-tiny"));
  auto dry = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", nullptr, DType::F16);
  int64_t stored = 0;
  {
    io::SafetensorsFile f(folder.weights("unet").at(0));
    for (auto& t : f.tensors()) stored += t.numel();
    EXPECT_EQ(dry.report.tensors, int64_t(f.tensors().size()));
  }
  EXPECT_EQ(dry.report.parameters, stored);
  EXPECT_TRUE(dry.report.unused.empty());
}

}  // namespace
}  // namespace ezivk::test
