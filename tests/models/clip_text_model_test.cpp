#include "engine/models/clip_text_model.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "engine/models/model_folder.h"
#include "models/golden.h"
#include "ops/dtype_params.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using models::ClipTextModel;
using ops::Tensor;

std::filesystem::path text_weights(const std::string& model) {
  return model_dir(model) / "text_encoder" / "model.safetensors";
}

// text_ids.npy as uint32, with its [batch, seq] shape.
std::vector<uint32_t> golden_ids(const std::string& model, int64_t& batch, int64_t& seq) {
  std::vector<int64_t> shape;
  const auto ids64 = load_golden_i64(model, "text_ids.npy", &shape);
  EXPECT_EQ(shape.size(), 2u);
  batch = shape.at(0);
  seq = shape.at(1);
  return std::vector<uint32_t>(ids64.begin(), ids64.end());
}

using Text = models::Component<ClipTextModel, models::ClipTextConfig>;
// The text encoder from a folder's config and an explicit weights file (the broken copies of the error tests).
Text load_text_from(gpu::Context& ctx, const std::string& name, DType dt, const std::filesystem::path& weights) {
  return models::load_component_files<ClipTextModel, models::ClipTextConfig>(
      model_dir(name) / "text_encoder" / "config.json", {weights}, "text_encoder", &ctx, dt);
}
Text load_text(gpu::Context* ctx, const std::string& model, DType dt) {
  return models::load_component<ClipTextModel, models::ClipTextConfig>(models::ModelFolder(model_dir(model)),
                                                                       "text_encoder", ctx, dt);
}

class ClipTextModelGolden : public GpuTest, public ::testing::WithParamInterface<std::tuple<std::string, DType>> {};

TEST_P(ClipTextModelGolden, LastHiddenStateMatchesReference) {
  const auto& [name, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const Text m = load_text(&ctx(), name, dt);
  int64_t batch = 0, seq = 0;
  const auto ids = golden_ids(name, batch, seq);
  for (uint32_t id : ids) ASSERT_LT(int64_t(id), m.config.vocab_size);
  const GoldenTensor want = load_golden(name, "text_hidden.npy");
  DeviceTensor id_buf(ctx(), ids);

  models::GraphRunner runner(ctx(), "clip test");
  const Tensor out = runner.run(dt, [&](models::Graph& g) { return m.model->forward(g, id_buf.slice(), batch, seq); });
  ASSERT_EQ(out.shape, want.shape);
  EXPECT_LE(relative_l2(models::download_floats(ctx(), out), want.values), golden_tolerance(dt));
  // Every weight is used; position_ids (a buffer the model knowingly ignores) is not reported.
  EXPECT_TRUE(m.report.unused.empty()) << m.report.unused.front();
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ClipTextModelGolden,
                         ::testing::Combine(::testing::Values(std::string("sd2-tiny"), std::string("sd1-tiny"),
                                                              std::string("odd-tiny")),  // head width 6
                                            ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param);
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n + "_" + dtype_name(std::get<1>(info.param));
                         });

using ClipTextModelTest = GpuTest;

// SD 2.1's text encoder shape (dry mode, random weights: only names and shapes) has the spec's parameter count.
TEST(ClipTextModelShape, Sd21HasTheSpecParameterCount) {
  models::ClipTextConfig c;
  c.hidden_size = 1024;
  c.intermediate_size = 4096;
  c.num_hidden_layers = 23;
  c.num_attention_heads = 16;
  c.hidden_act = ops::Activation::GELU;
  const auto m = models::random_component<ClipTextModel>(c, "text_encoder", nullptr, DType::F16, 1);
  EXPECT_EQ(m.report.parameters, 340387840);
}

// The dump point holds what forward returns, and only selected names are written.
TEST_F(ClipTextModelTest, DumpsSelectedPoints) {
  const Text m = load_text_from(ctx(), "sd2-tiny", DType::F32, text_weights("sd2-tiny"));
  int64_t batch = 0, seq = 0;
  const auto ids = golden_ids("sd2-tiny", batch, seq);
  DeviceTensor id_buf(ctx(), ids);
  ScratchDir dir("clip_dump");
  models::DumpOptions dump{dir.path(), {"text.final"}};
  models::GraphRunner runner(ctx(), "clip test");
  const Tensor out =
      runner.run(DType::F32, [&](models::Graph& g) { return m.model->forward(g, id_buf.slice(), batch, seq); }, &dump);
  const auto got = models::download_floats(ctx(), out);
  const io::NpyArray dumped = io::read_npy(dir.path() / "text.final.npy");
  EXPECT_EQ(dumped.shape, out.shape);
  EXPECT_EQ(dumped.as_f32(), got);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "text.layers.0.npy"));
}

TEST_F(ClipTextModelTest, MissingOrMisshapenTensorIsNamed) {
  ScratchDir dir("clip_errors");
  const auto broken = dir.path() / "model.safetensors";
  copy_safetensors_with(text_weights("sd1-tiny"), broken, "text_model.encoder.layers.1.mlp.fc1.weight",
                        std::vector<int64_t>{48, 23});
  expect_error([&] { load_text_from(ctx(), "sd1-tiny", DType::F32, broken); },
               {"text_model.encoder.layers.1.mlp.fc1.weight", "[48, 23]", "[48, 24]"});
  copy_safetensors_with(text_weights("sd2-tiny"), broken, "text_model.final_layer_norm.bias", std::nullopt);
  expect_error([&] { load_text_from(ctx(), "sd2-tiny", DType::F32, broken); },
               {"text_model.final_layer_norm.bias", "missing"});
  copy_safetensors_with(text_weights("sd2-tiny"), broken, "text_model.encoder.layers.0.self_attn.v_proj.bias",
                        std::nullopt);
  expect_error([&] { load_text_from(ctx(), "sd2-tiny", DType::F32, broken); },
               {"text_model.encoder.layers.0.self_attn.v_proj.bias", "missing"});
}

TEST_F(ClipTextModelTest, BadSequenceOrIdBufferIsAnError) {
  const Text m = load_text_from(ctx(), "sd2-tiny", DType::F32, text_weights("sd2-tiny"));
  DeviceTensor ids(ctx(), std::vector<uint32_t>(78, 1));
  models::GraphRunner runner(ctx(), "clip test");
  expect_error([&] { runner.run(DType::F32, [&](models::Graph& g) { return m.model->forward(g, ids.slice(), 1, 78); }); },
               {"ClipTextModel", "seq", "77", "78"});
  expect_error([&] { runner.run(DType::F32, [&](models::Graph& g) { return m.model->forward(g, ids.slice(), 2, 77); }); },
               {"ClipTextModel", "ids", "154"});
}

}  // namespace
}  // namespace ezivk::test
