// Whole text-to-image runs on the tiny models against the independent PyTorch pipeline
// (tools/fixtures/make_t2i_fixtures.py): same prompt, seed, scheduler and guidance -> same final latent and image.
#include "engine/pipeline/text_to_image.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

nlohmann::json cases() {
  std::ifstream f(golden_dir("") / "t2i_cases.json");
  return nlohmann::json::parse(f)["cases"];
}

struct Case {
  std::string name;
  DType dtype;
};

class TextToImageGolden : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(TextToImageGolden, FinalLatentAndImageMatchTheReference) {
  const auto& p = GetParam();
  if (p.dtype == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16";
  nlohmann::json c;
  for (auto& e : cases())
    if (e["name"] == p.name) c = e;
  ASSERT_FALSE(c.is_null()) << p.name;
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir(c["model"]).string(), p.dtype);
  pipeline::TextToImageParams tp;
  tp.prompt = c["prompt"];
  tp.negative_prompt = c["negative"];
  tp.seed = c["seed"];
  tp.guidance = c["guidance"];
  tp.steps = c["steps"];
  tp.batch = c["batch"];
  tp.width = c["width"];
  tp.height = c["height"];
  tp.scheduler = sched::parse_scheduler_kind(c["scheduler"]);
  int steps_seen = 0;
  const auto r = pipeline::text_to_image(*sd, tp, [&](const pipeline::Event& e) {
    if (std::holds_alternative<pipeline::StepDone>(e)) ++steps_seen;
  });
  // The tokenizer, the timestep grid and the number of UNet calls agree with the reference.
  EXPECT_EQ(r.prompt_tokens.ids, c["prompt_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(r.timesteps, c["timesteps"].get<std::vector<float>>());
  EXPECT_EQ(steps_seen, int(r.timesteps.size()));

  const std::string model = c["model"];
  auto file = [&](const char* key) { return c["files"][key].get<std::string>().substr(model.size() + 1); };
  const auto latent = load_golden(model, file("latent"));
  const auto image = load_golden(model, file("image"));
  EXPECT_EQ(r.latent_shape, latent.shape);
  // Six steps with guidance 7.5 amplify differences in summation order; fp16 rounds every activation.
  const double tol = p.dtype == DType::F32 ? 1e-4 : 2e-2;
  const double el = relative_l2(r.latent, latent.values), ei = relative_l2(r.decoded, image.values);
  EXPECT_LE(el, tol) << "latent";
  EXPECT_LE(ei, tol) << "image";
  std::printf("%s %s: latent rel. L2 %.2e, image %.2e\n", p.name.c_str(), dtype_name(p.dtype), el, ei);
  ASSERT_EQ(int64_t(r.images.size()), tp.batch);
  EXPECT_EQ(r.images[0].width, tp.width);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, TextToImageGolden,
                         ::testing::Values(Case{"sd2-tiny/t2i_ddim", DType::F32}, Case{"sd2-tiny/t2i_ddpm", DType::F32},
                                           Case{"sd2-tiny/t2i_pndm", DType::F32}, Case{"sd2-tiny/t2i_euler", DType::F32},
                                           Case{"sd2-tiny/t2i_euler-a", DType::F32}, Case{"sd2-tiny/t2i_dpmpp2m", DType::F32},
                                           Case{"sd2-tiny/t2i_ddim_b2", DType::F32},
                                           Case{"sd2-tiny/t2i_euler_noguid", DType::F32},
                                           Case{"sd1-tiny/t2i_dpmpp2m", DType::F32}, Case{"sd2-tiny/t2i_ddim", DType::F16},
                                           Case{"sd2-tiny/t2i_euler-a", DType::F16}),
                         [](const auto& info) {
                           std::string s = info.param.name + "_" + dtype_name(info.param.dtype);
                           for (auto& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

}  // namespace
}  // namespace ezivk::test
