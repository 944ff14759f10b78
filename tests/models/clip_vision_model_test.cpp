// The CLIP image tower (for --similarity clip) against the independent reference
// (tools/fixtures/make_clip_vision_fixtures.py): CLIPImageProcessor's preprocessing, the normalised image_embeds
// in fp32 and fp16, and the cosine of two images; a folder that is not an image tower is refused.
#include "engine/pipeline/clip_image_embedder.h"

#include <gtest/gtest.h>

#include "engine/io/png.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

class ClipVisionGolden : public GpuTest, public ::testing::WithParamInterface<DType> {};

TEST_P(ClipVisionGolden, EmbeddingsMatchTheReference) {
  const DType dt = GetParam();
  if (dt == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16";
  pipeline::ClipImageEmbedder clip(ctx(), model_dir("clip-vision-tiny"), dt);
  std::vector<std::vector<float>> embeds;
  for (const char* stem : {"subject_dog", "scene"}) {
    const auto img = io::read_png(fixtures_dir() / "ezigen" / (std::string(stem) + ".png"));
    const auto px = clip.preprocess(img);
    const auto want_px = load_golden("clip-vision-tiny", std::string(stem) + "_pixels.npy");
    EXPECT_LE(relative_l2(px, want_px.values), 1e-6) << stem;
    embeds.push_back(clip.embed(img));
    const double e = relative_l2(embeds.back(), load_golden("clip-vision-tiny", std::string(stem) + "_embeds.npy").values);
    EXPECT_LE(e, dt == DType::F32 ? 1e-5 : 2e-3) << stem;
    std::printf("clip %s %s: rel. L2 %.2e\n", stem, dtype_name(dt), e);
  }
  const double cos = pipeline::ClipImageEmbedder::cosine(embeds[0], embeds[1]);
  EXPECT_NEAR(cos, double(load_golden("clip-vision-tiny", "cosine.npy").values.at(0)), dt == DType::F32 ? 1e-5 : 2e-3);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ClipVisionGolden, ::testing::Values(DType::F32, DType::F16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

using ClipVisionLoad = GpuTest;

TEST_F(ClipVisionLoad, AFolderThatIsNotAnImageTowerIsRefused) {
  EXPECT_THROW(pipeline::ClipImageEmbedder(ctx(), model_dir("sd2-tiny") / "text_encoder", DType::F32), Error);
  EXPECT_THROW(pipeline::ClipImageEmbedder(ctx(), "/nonexistent/clip", DType::F32), Error);
}

}  // namespace
}  // namespace ezivk::test
