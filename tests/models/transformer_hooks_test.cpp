// The two hooks EZIGen needs in every transformer block: on_norm1 sees the tokens entering attn1 of each block in
// execution order, and extra_attention runs between attn1 and attn2 with an effect on the output.
#include <gtest/gtest.h>

#include "engine/io/npy.h"
#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "engine/models/unet2d_condition.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using models::Graph;
using ops::Tensor;

class TransformerHooks : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    unet_ = std::make_unique<Unet>(models::load_component<models::UNet2DConditionModel, models::UNetConfig>(
        models::ModelFolder(model_dir("sd2-tiny")), "unet", &ctx(), DType::F32));
    sample_ = load_golden("sd2-tiny", "unet_r0_sample.npy");
    timestep_ = load_golden("sd2-tiny", "unet_r0_timestep.npy");
    context_ = load_golden("sd2-tiny", "unet_r0_context.npy");
  }
  std::vector<float> run(const models::BlockHooks* hooks) {
    const DeviceTensor x(ctx(), sample_.shape, DType::F32, sample_.values);
    const DeviceTensor t(ctx(), timestep_.shape, DType::F32, timestep_.values);
    const DeviceTensor c(ctx(), context_.shape, DType::F32, context_.values);
    models::GraphRunner runner(ctx(), "hooks");
    const Tensor out = runner.run(DType::F32, [&](Graph& g) {
      return unet_->model->forward(g, x.tensor(), t.tensor(), c.tensor(), hooks);
    });
    return models::download_floats(ctx(), out);
  }
  using Unet = models::Component<models::UNet2DConditionModel, models::UNetConfig>;
  std::unique_ptr<Unet> unet_;
  GoldenTensor sample_, timestep_, context_;
};

TEST_F(TransformerHooks, Norm1SeesEveryBlockInOrder) {
  std::vector<std::string> seen;
  std::vector<std::vector<int64_t>> shapes;
  models::BlockHooks hooks;
  hooks.on_norm1 = [&](Graph& g, const std::string& block, const Tensor& n1) {
    if (g.planning()) return;  // the planning pass calls hooks too; count the real one
    seen.push_back(block);
    shapes.push_back(n1.shape);
  };
  const auto out = run(&hooks);
  EXPECT_EQ(seen, unet_->model->transformer_block_names());
  // sd2-tiny: levels 0 and 1 have attention (2 blocks each, 3 in the up path), plus the mid block.
  EXPECT_EQ(seen.size(), 2u + 2u + 1u + 3u + 3u);
  EXPECT_EQ(seen.front(), "down_blocks.0.attentions.0.transformer_blocks.0");
  EXPECT_EQ(shapes.front(), (std::vector<int64_t>{2, 64, 16}));  // [B, 8·8 tokens, C0]
  // Observing changes nothing.
  EXPECT_LE(relative_l2(out, load_golden("sd2-tiny", "unet_r0_out.npy").values), 1e-4);
}

TEST_F(TransformerHooks, ExtraAttentionRunsBetweenAttn1AndAttn2) {
  const auto plain = run(nullptr);
  int calls = 0;
  models::BlockHooks hooks;
  float alpha = 0.f;
  hooks.extra_attention = [&](Graph& g, const std::string&, const Tensor& n1, const Tensor& hidden) {
    if (!g.planning()) ++calls;
    g.add(hidden, n1, hidden, alpha);  // a stand-in adapter: hidden += alpha · norm1(x)
  };
  const auto zero = run(&hooks);
  EXPECT_EQ(calls, 11);
  EXPECT_LE(relative_l2(zero, plain), 1e-6);  // alpha 0 adds nothing
  alpha = 0.5f;
  const auto changed = run(&hooks);
  EXPECT_GT(relative_l2(changed, plain), 1e-2);  // and its output reaches the UNet's result
}

// Graph::copy lets on_norm1 keep what it sees outside the activation pool: after the whole UNet ran (and the pool's
// bytes were reused many times) every kept copy equals the tensor as it was inside its block (dumped there), and
// the guard after the kept copies is untouched.
TEST_F(TransformerHooks, Norm1CopiesSurviveTheForward) {
  const ScratchDir dir("norm1_copy");
  const models::DumpOptions dump{dir.path(), {"probe."}};
  const auto names = unet_->model->transformer_block_names();
  std::vector<Tensor> kept;
  gpu::Arena keep(ctx(), "kept norm1", 1 << 20, gpu::MemoryUse::Device);
  constexpr uint32_t kGuard = 0x7fc0dead;  // a NaN pattern no copy writes
  std::vector<gpu::Slice> guards;
  models::BlockHooks hooks;
  hooks.on_norm1 = [&](Graph& g, const std::string& block, const Tensor& n1) {
    if (g.planning()) return;
    Tensor dst{keep.alloc(n1.bytes(), 256), n1.dtype, n1.shape};
    guards.push_back(keep.alloc(256, 256));
    ctx().upload(guards.back(), std::vector<uint32_t>(64, kGuard).data(), 256);
    g.copy(n1, dst);
    g.dump("probe." + block, n1);
    kept.push_back(dst);
  };
  const DeviceTensor x(ctx(), sample_.shape, DType::F32, sample_.values);
  const DeviceTensor t(ctx(), timestep_.shape, DType::F32, timestep_.values);
  const DeviceTensor c(ctx(), context_.shape, DType::F32, context_.values);
  models::GraphRunner runner(ctx(), "hooks");
  runner.run(DType::F32, [&](Graph& g) { return unet_->model->forward(g, x.tensor(), t.tensor(), c.tensor(), &hooks); },
             &dump);
  ASSERT_EQ(kept.size(), names.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    const auto want = io::read_npy(dir.path() / ("probe." + names[i] + ".npy")).as_f32();
    EXPECT_EQ(models::download_floats(ctx(), kept[i]), want) << names[i];
    std::vector<uint32_t> guard(64);
    ctx().download(guards[i], guard.data(), 256);
    EXPECT_EQ(guard, std::vector<uint32_t>(64, kGuard)) << names[i];
  }
  // A copy between tensors of different sizes is refused, in planning mode too.
  Graph planning = Graph::planning(ctx(), DType::F32);
  EXPECT_THROW(planning.copy(Tensor{{}, DType::F32, {2, 3}}, Tensor{{}, DType::F32, {5}}), Error);
}

}  // namespace
}  // namespace ezivk::test
