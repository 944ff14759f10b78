// EZIGen editing on sd2-tiny against the independent reference (tools/fixtures/make_ezigen_fixtures.py): the
// prepared source and latent mask, the source's inversion, two rounds of transfer with blending; outside the mask
// the final latent is exactly the trajectory latent it was last blended with, and the decoded background stays
// close to what the VAE makes of that latent.
#include "engine/pipeline/ezigen_edit.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "engine/pipeline/vae_codec.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

nlohmann::json edit_case() {
  std::ifstream f(golden_dir("") / "ezigen_cases.json");
  const auto doc = nlohmann::json::parse(f);
  for (auto& c : doc["cases"])
    if (c["name"] == "ezigen_edit") return c;
  ADD_FAILURE() << "no ezigen_edit case";
  return {};
}

std::vector<float> golden_of(const nlohmann::json& c, const char* key) {
  return load_golden("", c["files"][key].get<std::string>()).values;
}

std::filesystem::path ezigen_dir() { return fixtures_dir() / "ezigen"; }

class EzigenEdit : public GpuTest {
 protected:
  pipeline::EzigenEditParams params(const pipeline::StableDiffusion& sd, const nlohmann::json& c) {
    pipeline::EzigenEditParams p;
    p.prompt = c["prompt"];
    p.steps = c["steps"];
    p.split = c["split"];
    p.seed = c["seed"];
    p.guidance = c["guidance"];
    p.t_subject = c["t_subject"];
    p.rounds.fixed = c["rounds"].get<int>();
    const int size = pipeline::subject_size(sd);
    const auto raw = io::read_png(ezigen_dir() / c["source"].get<std::string>());
    p.source = pipeline::prepare_edit_source(raw, size, 8);
    const int64_t f = sd.vae.config.downsampling();
    p.mask = pipeline::edit_mask_latent(io::read_png(ezigen_dir() / c["mask"].get<std::string>()), raw, size, 8,
                                        p.source.height / f, p.source.width / f);
    for (size_t i = 0; i < c["subjects"].size(); ++i)
      p.subjects.push_back({pipeline::prepare_subject_image(
                                io::read_png(ezigen_dir() / c["subjects"][i].get<std::string>()), size),
                            c["subject_prompts"][i].get<std::string>(), std::nullopt});
    return p;
  }
};

TEST_F(EzigenEdit, MatchesTheReferenceAndKeepsTheBackground) {
  const auto c = edit_case();
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto weights = pipeline::load_ezigen_weights(*sd, fixtures_dir() / "adapters" / "sd2-tiny-ezigen");
  const auto p = params(*sd, c);

  // The prepared source (PIL resize + centre crop) and the latent mask.
  const auto src = io::read_npy(golden_dir("") / c["files"]["source_u8"].get<std::string>());
  ASSERT_EQ(p.source.pixels.size(), src.data.size());
  EXPECT_EQ(0, std::memcmp(p.source.pixels.data(), src.data.data(), src.data.size()));
  EXPECT_LE(relative_l2(p.mask, golden_of(c, "mask")), 1e-6);

  int inversion_steps = 0;
  const auto r = pipeline::ezigen_edit(*sd, &weights, p, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e); s && s->phase == pipeline::Phase::Inversion) {
      ++inversion_steps;
    }
  });
  EXPECT_EQ(r.inversion_steps, int(load_golden_i64("", c["files"]["n_inv"].get<std::string>())[0]));
  EXPECT_EQ(inversion_steps, 2 * r.inversion_steps);  // each round inverts its image
  EXPECT_LE(relative_l2(r.background.back(), golden_of(c, "background_last")), 1e-5);
  ASSERT_EQ(r.rounds.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const std::string key = "round" + std::to_string(i + 1) + "_latent";
    const double e = relative_l2(r.rounds[size_t(i)].latent, golden_of(c, key.c_str()));
    EXPECT_LE(e, 1e-4) << key;
    std::printf("edit %s: rel. L2 %.2e\n", key.c_str(), e);
  }

  // Outside the mask (M == 0: the bilinear mask's support, dilated by its own reach) the final latent is the
  // trajectory latent of the last blend, bit for bit.
  const int64_t hw = int64_t(p.mask.size());
  const auto& last_bg = r.background[size_t(r.blend_index.back())];
  const auto& fin = r.rounds.back().latent;
  int outside = 0;
  for (size_t i = 0; i < fin.size(); ++i) {
    if (p.mask[i % size_t(hw)] != 0.f) continue;
    ++outside;
    ASSERT_EQ(fin[i], last_bg[i]) << i;
  }
  EXPECT_GT(outside, int(fin.size() / 4));

  // Decoded: away from the mask (more than one latent pixel) the image changes far less than inside it. Not
  // exactly nothing: the tiny random VAE's mid-block attention lets every latent reach every pixel; with a trained
  // VAE the decoded blend latent is the source's reconstruction.
  models::GraphRunner runner(ctx(), "decode");
  const int64_t f = sd->vae.config.downsampling(), lh = p.source.height / f, lw = p.source.width / f;
  auto decode = [&](const std::vector<float>& lat) {
    const DeviceTensor t(ctx(), {1, 4, lh, lw}, DType::F32, lat);
    return pipeline::decode_latents(*sd, runner, t.tensor()).raw;
  };
  const auto a = decode(fin), b = decode(last_bg);
  double out_sum = 0, in_sum = 0;
  int count = 0, in_count = 0;
  const int64_t H = p.source.height, W = p.source.width;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      bool near = false;
      for (int64_t dy = -1; dy <= 1 && !near; ++dy)
        for (int64_t dx = -1; dx <= 1 && !near; ++dx) {
          const int64_t ly = y / f + dy, lx = x / f + dx;
          if (ly >= 0 && ly < lh && lx >= 0 && lx < lw && p.mask[size_t(ly * lw + lx)] > 0) near = true;
        }
      const bool inside = p.mask[size_t((y / f) * lw + x / f)] >= 0.5f;
      for (int ch = 0; ch < 3; ++ch) {
        const double d = std::abs(a[size_t(ch * H * W + y * W + x)] - b[size_t(ch * H * W + y * W + x)]);
        if (!near) {
          out_sum += d;
          ++count;
        } else if (inside) {
          in_sum += d;
          ++in_count;
        }
      }
    }
  ASSERT_GT(count, 0);
  ASSERT_GT(in_count, 0);
  EXPECT_LE(out_sum / count, 0.5 * in_sum / in_count);
  std::printf("edit: decoded change inside the mask %.4f, background %.4f (mean |diff| on [-1, 1])\n",
              in_sum / in_count, out_sum / count);
}

TEST_F(EzigenEdit, AlignedBlendUsesTheStepsOwnNoiseLevel) {
  const auto c = edit_case();
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto p = params(*sd, c);
  p.mode = pipeline::SubjectMode::Reference;
  p.blend = pipeline::EditBlend::Aligned;
  p.rounds.fixed = 1;
  const auto r = pipeline::ezigen_edit(*sd, nullptr, p);
  ASSERT_FALSE(r.blend_index.empty());
  EXPECT_EQ(r.blend_index.back(), 0);  // the last step blends with the clean latent
  EXPECT_EQ(r.blend_index.front(), r.inversion_steps - 1);
  const auto& fin = r.rounds.back().latent;
  for (size_t i = 0; i < fin.size(); ++i) {
    if (p.mask[i % p.mask.size()] == 0.f) {
      ASSERT_EQ(fin[i], r.background[0][i]);
    }
  }
}

TEST_F(EzigenEdit, BadMasksFailClearly) {
  const io::Image8 src{20, 16, 3, std::vector<uint8_t>(20 * 16 * 3, 90)};
  EXPECT_THROW(pipeline::edit_mask_latent(io::Image8{0, 0, 3, {}}, src, 16, 8, 8, 8), Error);
  EXPECT_THROW(pipeline::edit_mask_latent(io::Image8{4, 4, 3, std::vector<uint8_t>(48, 0)}, src, 16, 8, 8, 8), Error);
  std::string how;
  const auto prepared = pipeline::prepare_edit_source(src, 16, 8, &how);
  EXPECT_EQ(prepared.width, 16);  // 20x16 -> 20x16 (short side 16) -> centre crop to 16x16
  EXPECT_EQ(prepared.height, 16);
  EXPECT_NE(how.find("centre-cropped"), std::string::npos);
}

}  // namespace
}  // namespace ezivk::test
