// The committed demo model (models/demo) end to end, in this process on the test device: the folder and its adapters
// load with the engine's own loaders, EZIGen runs at the model's size with the sample subjects, the pictures are
// pictures (not flat fields), and the subject changes the picture (the adapters are live). The subject-transfer quality
// (the likeness gain over the text-only picture) is measured by tools/train/quality.py and reported in
// models/demo/README.md; it is not asserted here because this model does not reach it yet (a test of a gain that is
// not there could only fail or be made to pass).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/eval/picture_difference.h"
#include "engine/io/image_file.h"
#include "engine/pipeline/ezigen.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/subject_bank.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

fs::path demo_dir() { return fixtures_dir().parent_path().parent_path() / "models" / "demo"; }

double std_dev(const io::Image8& a) {
  double m = 0, q = 0;
  for (uint8_t v : a.pixels) m += v;
  m /= double(a.pixels.size());
  for (uint8_t v : a.pixels) q += (v - m) * (v - m);
  return std::sqrt(q / double(a.pixels.size()));
}

using DemoModel = GpuTest;

TEST_F(DemoModel, RunsSubjectDrivenGenerationAndTheSubjectChangesThePicture) {
  std::ifstream f(demo_dir() / "subjects" / "subjects.json");
  ASSERT_TRUE(f) << demo_dir();
  const auto subjects = nlohmann::json::parse(f);
  ASSERT_EQ(subjects.size(), 8u);
  auto sd = pipeline::load_stable_diffusion(ctx(), demo_dir().string(), DType::F16);
  const auto weights = pipeline::load_ezigen_weights(*sd, demo_dir() / "adapters.safetensors");
  EXPECT_EQ(pipeline::subject_size(*sd), 64);
  for (size_t i : {size_t(0), size_t(5)}) {  // the green car on the road, the yellow fish in a room
    const auto& s = subjects[i];
    const fs::path subject_path = demo_dir() / "subjects" / s["file"].get<std::string>();
    pipeline::EzigenParams p;
    p.prompt = s["prompt"];
    p.steps = 10;
    p.guidance = p.round_guidance = 5.0;
    p.seed = 42;
    p.scheduler = sched::SchedulerKind::DDIM;
    p.rounds.fixed = 0;  // the first pass only: with DDIM it differs from the text-only run only by the adapters
    p.baseline = true;
    p.subjects.push_back({pipeline::prepare_subject_image(io::read_image(subject_path), 64),
                          s["subject_prompt"].get<std::string>(), std::nullopt});
    const auto r = pipeline::ezigen_generate(*sd, &weights, p, {});
    ASSERT_TRUE(r.baseline) << subject_path;
    ASSERT_EQ(r.image.width, 64);
    ASSERT_EQ(r.image.height, 64);
    // Pictures, not flat fields (the random-weight test models give noise; a broken load gives a flat colour).
    EXPECT_GT(std_dev(*r.baseline), 10.0) << subject_path;
    EXPECT_GT(std_dev(r.image), 10.0) << subject_path;
    // The subject changed the picture: the adapters were loaded and took part (DDIM draws no noise after the first
    // latent, so without them the first pass would be the text-only picture exactly).
    // Measured 9.7 and 4.8 levels of 255; 0 without the adapters.
    EXPECT_GT(eval::mean_abs_difference(r.image, *r.baseline), 1.5) << subject_path;
  }
}

}  // namespace
}  // namespace ezivk::test
