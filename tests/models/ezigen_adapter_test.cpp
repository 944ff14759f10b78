// One EZIGen adapter block against the independent PyTorch reference (tools/fixtures/make_ezigen_fixtures.py):
// h' = h1 + to_out(attn(to_q(a), [a ; w·s])) + a on random h1 [2, 5, C] and subject tokens [1, 11, C], weights
// from the random checkpoint in the released key layout; fp32 and fp16, on every attention kernel the device has.
#include "engine/models/ezigen_adapter.h"

#include <gtest/gtest.h>

#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using models::Graph;
using ops::Tensor;

std::filesystem::path checkpoint() { return fixtures_dir() / "adapters" / "sd2-tiny-ezigen" / "model.safetensors"; }

class EzigenAdapterGolden : public GpuTest, public ::testing::WithParamInterface<DType> {};

TEST_P(EzigenAdapterGolden, BlockMatchesReference) {
  const DType dt = GetParam();
  if (dt == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16";
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(
      models::ModelFolder(model_dir("sd2-tiny")), "unet", &ctx(), dt);
  models::SafetensorsSource src({checkpoint()});
  models::WeightStore ws(&ctx(), src, dt, "adapter");
  const models::EzigenAdapter adapter(*unet.model, ws);
  ASSERT_EQ(adapter.blocks().size(), unet.model->transformer_blocks().size());

  const auto hidden = load_golden("sd2-tiny", "ezigen_block_hidden.npy");
  const auto tokens = load_golden("sd2-tiny", "ezigen_block_tokens.npy");
  const auto want = load_golden("sd2-tiny", "ezigen_block_out.npy");
  const DeviceTensor h(ctx(), hidden.shape, dt, hidden.values);
  const DeviceTensor s(ctx(), tokens.shape, dt, tokens.values);
  const auto& b = adapter.block("mid_block.attentions.0.transformer_blocks.0");
  models::GraphRunner runner(ctx(), "adapter");
  runner.run(dt, [&](Graph& g) {
    models::Act kv = adapter.subject_kv(g, b, s.tensor());
    adapter.forward(g, b, h.tensor(), kv);
    return g.alloc({1});
  });
  const auto got = models::download_floats(ctx(), h.tensor());
  const double err = relative_l2(got, want.values);
  EXPECT_LE(err, dt == DType::F32 ? 1e-5 : 2e-3);
  std::printf("adapter block %s: rel. L2 %.2e\n", dtype_name(dt), err);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EzigenAdapterGolden, ::testing::Values(DType::F32, DType::F16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

using EzigenAdapterLoad = GpuTest;

// A checkpoint whose adapters do not fit the model fails naming the tensor; learnable_weights of the wrong length
// fails naming it.
TEST_F(EzigenAdapterLoad, MisfitCheckpointsFailNamingTheTensor) {
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(
      models::ModelFolder(model_dir("sd1-tiny")), "unet", nullptr, DType::F32);
  models::SafetensorsSource src({checkpoint()});
  models::WeightStore ws(nullptr, src, DType::F32, "adapter");
  try {
    models::EzigenAdapter a(*unet.model, ws);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model.safetensors"), std::string::npos) << m;
    EXPECT_TRUE(m.find("adapter") != std::string::npos || m.find("learnable_weights") != std::string::npos) << m;
  }
}

}  // namespace
}  // namespace ezivk::test
