// The committed demo model (models/demo) end to end, in this process on the test device: the folder and its adapters
// load with the engine's own loaders, EZIGen runs at the model's size with the demo's transfer settings, the pictures
// are pictures (not flat fields), the subject changes the picture (the adapters are live), and the subject is carried
// over, two ways (eval::subject_likeness, the measures tools/train/quality.py reports; these are its first seed's cases,
// with one round instead of three to keep the suite short):
// - specificity: for each class, its two sample subjects (different colours) run with the same prompt and seed, and
//   the two pictures together are more like their own subjects than like each other's: [L(pic A, A) - L(pic B, A)] +
//   [L(pic B, B) - L(pic A, B)] > 0 (the backgrounds cancel);
// - gain: over the eight pictures, the mean likeness to their subject is above that of the text-only pictures of the
//   same prompts and seeds.
// quality.py's three seeds (models/demo/quality.json): specificity after one round positive for 12 of 12 pairs
// (+0.018 at least), the mean gain after one round +0.012, +0.033 and +0.040 per seed (the
// thinnest of the checks: it rests mostly on two opposite cases, the yellow house and the blue house).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/eval/picture_difference.h"
#include "engine/eval/subject_likeness.h"
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

TEST_F(DemoModel, PicturesAreMoreLikeTheirOwnSubjectThanTheOtherSubjectsAndTheTextOnlyPictures) {
  std::ifstream f(demo_dir() / "subjects" / "subjects.json");
  ASSERT_TRUE(f) << demo_dir();
  const auto subjects = nlohmann::json::parse(f);
  ASSERT_EQ(subjects.size(), 8u);
  // The classes in their order of first appearance, each with its two subjects (quality.py's pairs).
  std::vector<std::string> classes;
  std::map<std::string, std::vector<nlohmann::json>> by_class;
  for (const auto& s : subjects) {
    const std::string c = s["class"];
    if (!by_class.count(c)) classes.push_back(c);
    by_class[c].push_back(s);
  }
  ASSERT_EQ(classes.size(), 4u);

  auto sd = pipeline::load_stable_diffusion(ctx(), demo_dir().string(), DType::F16);
  const auto weights = pipeline::load_ezigen_weights(*sd, demo_dir() / "adapters.safetensors");
  EXPECT_EQ(pipeline::subject_size(*sd), 64);
  double gain = 0;
  int runs = 0;
  for (size_t j = 0; j < classes.size(); ++j) {
    const auto& pair = by_class[classes[j]];
    ASSERT_EQ(pair.size(), 2u) << classes[j];
    std::vector<io::Image8> subject, picture;
    for (const auto& s : pair) {
      const fs::path path = demo_dir() / "subjects" / s["file"].get<std::string>();
      subject.push_back(io::read_image(path));
      pipeline::EzigenParams p;  // the demo's settings (README's main job), one round
      p.prompt = pair[0]["prompt"];
      p.negative = "";
      p.steps = 25;
      p.guidance = p.round_guidance = 5.0;
      p.split = 0.7;
      p.seed = 2000 + int(j);
      p.scheduler = sched::SchedulerKind::DDPM;
      p.rounds.fixed = 1;
      p.baseline = true;
      p.subjects.push_back({pipeline::prepare_subject_image(subject.back(), 64), s["subject_prompt"].get<std::string>(),
                            std::nullopt});
      const auto r = pipeline::ezigen_generate(*sd, &weights, p, {});
      ASSERT_EQ(r.image.width, 64);
      ASSERT_EQ(r.image.height, 64);
      // Pictures, not flat fields (the random-weight test models give noise; a broken load gives a flat colour).
      EXPECT_GT(std_dev(r.image), 10.0) << path;
      ASSERT_TRUE(r.baseline) << path;
      gain += eval::subject_likeness(subject.back(), r.image, path.c_str()) -
              eval::subject_likeness(subject.back(), *r.baseline, path.c_str());
      ++runs;
      if (j == 0) {
        // The adapters took part: the text-only run of the same seed draws the same noise, so without them the
        // first pass would be that picture exactly.
        ASSERT_TRUE(r.first);
        EXPECT_GT(std_dev(*r.baseline), 10.0) << path;
        EXPECT_GT(eval::mean_abs_difference(*r.first, *r.baseline), 1.5) << path;
      }
      picture.push_back(r.image);
    }
    const auto like = [&](int s, int pic) {
      return eval::subject_likeness(subject[s], picture[pic], pair[s]["file"].get<std::string>().c_str());
    };
    const double margin = (like(0, 0) - like(0, 1)) + (like(1, 1) - like(1, 0));
    std::printf("[ demo     ] %s: L(A pic, A) %.3f, L(B pic, A) %.3f, L(B pic, B) %.3f, L(A pic, B) %.3f, margin %+.3f\n",
                classes[j].c_str(), like(0, 0), like(0, 1), like(1, 1), like(1, 0), margin);
    EXPECT_GT(margin, 0.0) << classes[j] << ": " << pair[0]["file"] << " / " << pair[1]["file"];
  }
  ASSERT_EQ(runs, 8);
  std::printf("[ demo     ] mean likeness gain over the text-only pictures %+.3f\n", gain / runs);
  EXPECT_GT(gain / runs, 0.0);
}

}  // namespace
}  // namespace ezivk::test
