// The two hooks EZIGen needs in every transformer block: on_norm1 sees the tokens entering attn1 of each block in
// execution order, and extra_attention runs between attn1 and attn2 with an effect on the output.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ezivk::test
