#include "engine/models/autoencoder_kl.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "engine/models/model_folder.h"
#include "models/golden.h"
#include "ops/dtype_params.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using models::AutoencoderKL;
using ops::Tensor;

std::filesystem::path vae_weights(const std::string& model) {
  return model_dir(model) / "vae" / "diffusion_pytorch_model.safetensors";
}

using Vae = models::Component<AutoencoderKL, models::VaeConfig>;
// A VAE from a folder's config and an explicit weights file (the broken copies of the error tests).
Vae load_vae_from(gpu::Context& ctx, const std::string& model, DType dt, const std::filesystem::path& weights,
                  AutoencoderKL::Part part = AutoencoderKL::Part::Both) {
  return models::load_component_files<AutoencoderKL, models::VaeConfig>(model_dir(model) / "vae" / "config.json",
                                                                        {weights}, "vae", &ctx, dt, part);
}
Vae load_vae(gpu::Context* ctx, const std::string& model, DType dt, AutoencoderKL::Part part) {
  return models::load_component<AutoencoderKL, models::VaeConfig>(models::ModelFolder(model_dir(model)), "vae", ctx,
                                                                  dt, part);
}

class AutoencoderKLGolden : public GpuTest, public ::testing::WithParamInterface<std::tuple<std::string, DType>> {};

TEST_P(AutoencoderKLGolden, EncodeMatchesReferenceMoments) {
  const auto& [model, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const Vae m = load_vae(&ctx(), model, dt, AutoencoderKL::Part::EncoderOnly);
  const GoldenTensor in = load_golden(model, "vae_encode_in.npy");
  const GoldenTensor mean = load_golden(model, "vae_encode_mean.npy");
  const GoldenTensor logvar = load_golden(model, "vae_encode_logvar.npy");
  DeviceTensor image(ctx(), in.shape, dt, in.values);

  models::GraphRunner runner(ctx(), "vae test");
  const Tensor out = runner.run(dt, [&](models::Graph& g) { return m.model->encode_moments(g, image.tensor()); });
  const int64_t lat = m.config.latent_channels;
  ASSERT_EQ(out.shape, (std::vector<int64_t>{in.shape[0], 2 * lat, mean.shape[2], mean.shape[3]}));
  const auto moments = models::download_floats(ctx(), out);
  const auto split = models::split_moments(moments, out.dim(0), lat, out.dim(2) * out.dim(3));
  const double tol = golden_tolerance(dt);
  EXPECT_LE(relative_l2(split.mean, mean.values), tol);
  EXPECT_LE(relative_l2(split.logvar, logvar.values), tol);
}

TEST_P(AutoencoderKLGolden, DecodeMatchesReferenceImage) {
  const auto& [model, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  const Vae m = load_vae(&ctx(), model, dt, AutoencoderKL::Part::DecoderOnly);
  const GoldenTensor in = load_golden(model, "vae_decode_in.npy");
  const GoldenTensor want = load_golden(model, "vae_decode_out.npy");
  DeviceTensor z(ctx(), in.shape, dt, in.values);

  models::GraphRunner runner(ctx(), "vae test");
  const Tensor out = runner.run(dt, [&](models::Graph& g) { return m.model->decode(g, z.tensor()); });
  ASSERT_EQ(out.shape, want.shape);
  EXPECT_LE(relative_l2(models::download_floats(ctx(), out), want.values), golden_tolerance(dt));
}

INSTANTIATE_TEST_SUITE_P(TinyModels, AutoencoderKLGolden,
                         ::testing::Combine(::testing::Values(std::string("sd2-tiny"), std::string("sd1-tiny"),
                                                              std::string("odd-tiny")),  // head width 12
                                            ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param);
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n + "_" + dtype_name(std::get<1>(info.param));
                         });

using AutoencoderKLBatch = GpuTest;

// Batch item 0 is the golden input, item 1 other values: item 0 must still match the reference, and item 1 what a
// batch of one gives for it (a kernel mixing up batch strides fails one or the other).
TEST_F(AutoencoderKLBatch, ItemsOfABatchAreIndependent) {
  const Vae m = load_vae(&ctx(), "sd2-tiny", DType::F32, AutoencoderKL::Part::Both);
  models::GraphRunner runner(ctx(), "vae test");
  const auto check = [&](const std::string& in_file, const GoldenTensor& want,
                         const std::function<models::Act(models::Graph&, const Tensor&)>& forward) {
    const GoldenTensor in = load_golden("sd2-tiny", in_file);
    const auto other = random_floats(in.values.size(), 77);
    auto both = in.values;
    both.insert(both.end(), other.begin(), other.end());
    auto shape2 = in.shape;
    shape2[0] = 2;
    const DeviceTensor x2(ctx(), shape2, DType::F32, both), x1(ctx(), in.shape, DType::F32, other);
    const auto got2 = models::download_floats(ctx(), runner.run(DType::F32, [&](models::Graph& g) {
      return forward(g, x2.tensor());
    }));
    const auto got1 = models::download_floats(ctx(), runner.run(DType::F32, [&](models::Graph& g) {
      return forward(g, x1.tensor());
    }));
    ASSERT_EQ(got2.size(), 2 * want.values.size()) << in_file;
    const auto half = got2.begin() + ptrdiff_t(want.values.size());
    EXPECT_LE(relative_l2({got2.begin(), half}, want.values), golden_tolerance(DType::F32)) << in_file;
    EXPECT_LE(relative_l2({half, got2.end()}, got1), 1e-6) << in_file;
  };
  // An item's moments are its mean then its logvar (the golden logvar is clamped, but the clamp does not bite here).
  GoldenTensor moments = load_golden("sd2-tiny", "vae_encode_mean.npy");
  const auto logvar = load_golden("sd2-tiny", "vae_encode_logvar.npy").values;
  moments.values.insert(moments.values.end(), logvar.begin(), logvar.end());
  check("vae_encode_in.npy", moments, [&](models::Graph& g, const Tensor& x) { return m.model->encode_moments(g, x); });
  check("vae_decode_in.npy", load_golden("sd2-tiny", "vae_decode_out.npy"),
        [&](models::Graph& g, const Tensor& x) { return m.model->decode(g, x); });
}

using AutoencoderKLLoad = GpuTest;

// Both parts together consume every tensor of the checkpoint, in either attention naming scheme.
TEST_F(AutoencoderKLLoad, BothPartsUseEveryTensorInBothNamingSchemes) {
  for (const char* model : {"sd2-tiny", "sd1-tiny"}) {
    const Vae m = load_vae(&ctx(), model, DType::F32, AutoencoderKL::Part::Both);
    EXPECT_TRUE(m.model->has_encoder() && m.model->has_decoder());
    EXPECT_EQ(m.report.unused, std::vector<std::string>{}) << model;
    int64_t stored = 0;
    const io::SafetensorsFile file(vae_weights(model));
    for (auto& t : file.tensors()) stored += t.numel();
    EXPECT_EQ(m.report.parameters, stored) << model;
  }
}

// SD 2.1's VAE shape (dry mode, random weights: only names and shapes) has the spec's parameter count.
TEST(AutoencoderKLShape, Sd21HasTheSpecParameterCount) {
  models::VaeConfig c;
  c.block_out_channels = {128, 256, 512, 512};
  c.layers_per_block = 2;
  c.norm_num_groups = 32;
  const auto m = models::random_component<AutoencoderKL>(c, "vae", nullptr, DType::F16, 1, AutoencoderKL::Part::Both);
  EXPECT_EQ(m.report.parameters, 83653863);
  const auto enc =
      models::random_component<AutoencoderKL>(c, "vae", nullptr, DType::F16, 1, AutoencoderKL::Part::EncoderOnly);
  const auto dec =
      models::random_component<AutoencoderKL>(c, "vae", nullptr, DType::F16, 1, AutoencoderKL::Part::DecoderOnly);
  EXPECT_EQ(enc.report.parameters + dec.report.parameters, 83653863);
  EXPECT_FALSE(enc.model->has_decoder());
  EXPECT_FALSE(dec.model->has_encoder());
}

TEST_F(AutoencoderKLLoad, MissingOrMisshapenTensorIsNamed) {
  ScratchDir dir("vae_errors");
  const auto broken = dir.path() / "vae.safetensors";
  const auto expect_load_error = [&](const char* model, std::initializer_list<const char*> words) {
    expect_error([&] { load_vae_from(ctx(), model, DType::F32, broken); }, words);
  };
  copy_safetensors_with(vae_weights("sd2-tiny"), broken, "decoder.up_blocks.1.resnets.1.conv2.weight", std::nullopt);
  expect_load_error("sd2-tiny", {"decoder.up_blocks.1.resnets.1.conv2.weight", "missing"});

  copy_safetensors_with(vae_weights("sd2-tiny"), broken, "encoder.mid_block.attentions.0.to_k.weight",
                        std::vector<int64_t>{32, 16});
  expect_load_error("sd2-tiny", {"encoder.mid_block.attentions.0.to_k.weight", "[32, 16]", "[32, 32]"});

  copy_safetensors_with(vae_weights("sd1-tiny"), broken, "decoder.mid_block.attentions.0.proj_attn.bias",
                        std::vector<int64_t>{15});
  expect_load_error("sd1-tiny", {"decoder.mid_block.attentions.0.proj_attn.bias", "[15]"});

  // Neither scheme's query weight: the Error names the current diffusers name.
  copy_safetensors_with(vae_weights("sd2-tiny"), broken, "decoder.mid_block.attentions.0.to_q.weight", std::nullopt);
  expect_load_error("sd2-tiny", {"missing tensor", "decoder.mid_block.attentions.0.to_q.weight"});
}

TEST_F(AutoencoderKLLoad, WrongSizesAndMissingPartsAreErrors) {
  const Vae m = load_vae_from(ctx(), "sd2-tiny", DType::F32, vae_weights("sd2-tiny"), AutoencoderKL::Part::EncoderOnly);
  EXPECT_FALSE(m.model->has_decoder());
  models::GraphRunner runner(ctx(), "vae test");
  // sd2-tiny downsamples by 2: an odd height cannot be encoded.
  const std::vector<int64_t> odd{1, 3, 15, 12};
  DeviceTensor image(ctx(), odd, DType::F32, std::vector<float>(15 * 12 * 3, 0.5f));
  expect_error([&] { runner.run(DType::F32, [&](models::Graph& g) { return m.model->encode_moments(g, image.tensor()); }); },
               {"AutoencoderKL", "15×12", "multiples of 2"});
  DeviceTensor z(ctx(), {1, 4, 2, 2}, DType::F32, std::vector<float>(16, 0.f));
  expect_error([&] { runner.run(DType::F32, [&](models::Graph& g) { return m.model->decode(g, z.tensor()); }); },
               {"AutoencoderKL", "decoder"});
}

TEST(VaeMoments, SplitsPerBatchItemAndClampsLogvar) {
  // [2, 2·1, 2]: item 0 mean {1, 2} logvar {-40, 3}; item 1 mean {4, 5} logvar {25, -1}.
  const std::vector<float> moments{1, 2, -40, 3, 4, 5, 25, -1};
  const auto m = models::split_moments(moments, 2, 1, 2);
  EXPECT_EQ(m.mean, (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(m.logvar, (std::vector<float>{-30, 3, 20, -1}));
  EXPECT_THROW(models::split_moments(moments, 2, 2, 2), Error);
}

}  // namespace
}  // namespace ezivk::test
