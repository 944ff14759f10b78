// `ezivk generate --subject` on sd2-tiny: the final image is the reference's (tools/fixtures/
// make_ezigen_fixtures.py) with the parameters and the subject's SHA-256 inside; --save-rounds and --baseline
// files; the JSON report; Ctrl-C; and bad input failing before anything is written.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "engine/pipeline/cancel.h"
#include "engine/util/error.h"
#include "engine/util/sha256.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

std::string model() { return model_dir("sd2-tiny").string(); }
std::string adapter() { return (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string(); }
std::string dog() { return (fixtures_dir() / "ezigen" / "subject_dog.png").string(); }

// The golden case ezigen_adapter: 10 DDPM steps, split 0.4, 2 rounds, seed 42, fp32.
std::vector<std::string> golden_args(const fs::path& out) {
  return {"--model", model(), "--adapter", adapter(), "--subject", dog(), "--subject-prompt", "a dog", "--prompt",
          "a photo of a dog on the beach", "--steps", "10", "--seed", "42", "--rounds", "2", "--precision", "fp32",
          "--out", out.string()};
}

using GenerateEzigenCli = GpuTest;

TEST_F(GenerateEzigenCli, WritesTheReferenceImageRoundsAndReport) {
  const ScratchDir tmp("ezigen_cli");
  const fs::path out = tmp.path() / "dog.png", json = tmp.path() / "dog.json";
  auto args = golden_args(out);
  args.insert(args.end(), {"--save-rounds", "--baseline", "--json", json.string()});
  const std::string printed = run_cli(cli::generate, args);
  EXPECT_TRUE(contains(printed, out.string()));

  auto expect_image = [&](const fs::path& png, const char* golden) {
    const io::Image8 img = io::read_png(png);
    const auto want = io::read_npy(golden_dir("sd2-tiny") / golden).as_i64();
    ASSERT_EQ(img.pixels.size(), want.size()) << png;
    int worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(int(img.pixels[i]) - int(want[i])));
    EXPECT_LE(worst, 1) << png;
  };
  expect_image(out, "ezigen_adapter_round2_u8.npy");
  expect_image(tmp.path() / "dog-round1.png", "ezigen_adapter_round1_u8.npy");
  expect_image(tmp.path() / "dog-first.png", "ezigen_adapter_first_u8.npy");
  for (const char* f : {"dog-sketch.png", "dog-text.png"}) EXPECT_TRUE(fs::exists(tmp.path() / f)) << f;
  EXPECT_FALSE(fs::exists(tmp.path() / "dog-round3.png"));

  std::map<std::string, std::string> text;
  for (auto& [k, v] : io::read_png_text(out)) text[k] = v;
  EXPECT_EQ(text["prompt"], "a photo of a dog on the beach");
  EXPECT_EQ(text["negative_prompt"], "dark, blur, defoucus, lack of content, dizzy.");
  EXPECT_EQ(text["scheduler"], "ddpm");
  EXPECT_EQ(text["method"], "EZIGen");
  const auto params = nlohmann::json::parse(text["parameters"]);
  EXPECT_EQ(params["seed"], 42);
  EXPECT_EQ(params["subjects"][0]["sha256"], sha256_file_hex(dog()));
  EXPECT_EQ(params["subject_prompts"][0], "a dog");
  EXPECT_EQ(params["rounds"], 2);

  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["rounds"].size(), 2u);
  EXPECT_FALSE(j["rounds"][0]["stop"].get<bool>());
  EXPECT_TRUE(j["rounds"][1]["stop"].get<bool>());
  EXPECT_TRUE(j["rounds"][1]["similarity"].is_number());
  EXPECT_EQ(j["switch_step"], 6);
  EXPECT_EQ(j["round_noise_timestep"], 400);
  EXPECT_EQ(j["generator_a_values_at_split"], 4 * 8 * 8 * 7);
  for (const char* k : {"subject_encoding_s", "first_pass_s", "rounds_s", "baseline_s", "total_s"})
    EXPECT_GT(j["timings"][k].get<double>(), 0) << k;
  EXPECT_GT(j["device_memory"]["subject_bank_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["device_memory"]["adapter_bytes"].get<uint64_t>(), 0u);
}

TEST_F(GenerateEzigenCli, InterruptWritesNothingHalfDone) {
  const ScratchDir tmp("ezigen_interrupt");
  const fs::path out = tmp.path() / "dog.png";
  auto args = golden_args(out);
  args.insert(args.end(), {"--json", (tmp.path() / "r.json").string()});
  ::setenv("EZIVK_TEST_INTERRUPT_AFTER_STEP", "12", 1);  // inside round 1
  bool cancelled = false;
  try {
    run_cli(cli::generate, args);
  } catch (const pipeline::Cancelled&) {
    cancelled = true;
  }
  ::unsetenv("EZIVK_TEST_INTERRUPT_AFTER_STEP");
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(tmp.path() / "r.json"));
}

TEST_F(GenerateEzigenCli, BadInputFailsBeforeWriting) {
  const ScratchDir tmp("ezigen_errors");
  const fs::path out = tmp.path() / "x.png";
  const std::vector<std::string> base = {"--model", model(), "--prompt", "p", "--steps", "2", "--out", out.string()};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--subject", dog()})), "--reference-attention"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--rounds", "2"})), "--subject"));
  EXPECT_TRUE(contains(
      cli_error<cli::UsageError>(cli::generate, with({"--subject", dog(), "--adapter", adapter(), "--split", "1"})),
      "--split"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(
                           cli::generate, with({"--subject", dog(), "--adapter", adapter(), "--batch", "2"})),
                       "--batch"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--subject", dog(), "--adapter", adapter(),
                                                                       "--rounds", "2", "--max-rounds", "4"})),
                       "--rounds"));
  // A subject that is not an image.
  const fs::path notes = tmp.path() / "notes.png";
  std::ofstream(notes) << "not a picture";
  EXPECT_TRUE(contains(
      cli_error<Error>(cli::generate, with({"--subject", notes.string(), "--adapter", adapter()})), "notes.png"));
  // A zero-size mask: a PNG cannot be 0x0, so an empty file stands for it.
  const fs::path mask = tmp.path() / "mask.png";
  std::ofstream(mask).flush();
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--subject", dog(), "--adapter", adapter(),
                                                             "--subject-mask", mask.string()})),
                       "mask.png"));
  // A checkpoint for another model.
  const std::string sd1 = model_dir("sd1-tiny").string();
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, {"--model", sd1, "--prompt", "p", "--steps", "2", "--subject",
                                                        dog(), "--adapter", adapter(), "--out", out.string()}),
                       "model.safetensors"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--subject", dog(), "--adapter", "/nonexistent/ck.zip"})),
                       "unzip"));
  EXPECT_FALSE(fs::exists(out));
}

// A JPEG subject, the training-free mode, no rounds: the first pass is the result.
TEST_F(GenerateEzigenCli, JpegSubjectReferenceModeNoRounds) {
  const ScratchDir tmp("ezigen_jpeg");
  const fs::path out = tmp.path() / "j.png";
  const std::string jpg = (fixtures_dir() / "io" / "photo_420.jpg").string();
  run_cli(cli::generate, {"--model", model(), "--reference-attention", "--subject-strength", "0.7", "--subject", jpg,
                          "--prompt", "a photo", "--steps", "4", "--rounds", "0", "--seed", "3", "--precision",
                          "fp32", "--out", out.string()});
  std::map<std::string, std::string> text;
  for (auto& [k, v] : io::read_png_text(out)) text[k] = v;
  const auto params = nlohmann::json::parse(text["parameters"]);
  EXPECT_EQ(params["mode"], "reference-attention");
  EXPECT_EQ(params["subjects"][0]["sha256"], sha256_file_hex(jpg));
  EXPECT_EQ(params["rounds_done"], 0);
}

// Auto-stop with the CLIP measure: the report's similarities are cosines of CLIP embeddings (in [-1, 1], not the
// latent correlation of the same run), and the run stops at --max-rounds or at the threshold.
TEST_F(GenerateEzigenCli, ClipSimilarityDrivesAutoStop) {
  const ScratchDir tmp("ezigen_clip");
  const fs::path out = tmp.path() / "c.png", json = tmp.path() / "c.json";
  auto run = [&](const char* measure) {
    std::vector<std::string> a = {"--model", model(), "--reference-attention", "--subject", dog(), "--prompt", "p",
                                  "--steps", "4", "--seed", "5", "--precision", "fp32", "--min-rounds", "1",
                                  "--max-rounds", "2", "--threshold", "0.999999", "--similarity", measure,
                                  "--out", out.string(), "--json", json.string()};
    if (std::string(measure) == "clip") a.insert(a.end(), {"--clip-model", model_dir("clip-vision-tiny").string()});
    run_cli(cli::generate, a);
    std::ifstream f(json);
    return nlohmann::json::parse(f);
  };
  const auto c = run("clip"), l = run("latent");
  ASSERT_EQ(c["rounds"].size(), 2u);
  EXPECT_TRUE(contains(c["rounds"][1]["reason"].get<std::string>(), "max-rounds"));
  EXPECT_EQ(c["parameters"]["similarity"], "clip");
  for (int i = 0; i < 2; ++i) {
    const double s = c["rounds"][i]["similarity"];
    EXPECT_GE(s, -1.0);
    EXPECT_LE(s, 1.0);
    EXPECT_NE(s, l["rounds"][i]["similarity"].get<double>());
  }
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, {"--model", model(), "--reference-attention",
                                                                  "--subject", dog(), "--prompt", "p",
                                                                  "--similarity", "clip"}),
                       "--clip-model"));
}

// --start-image: no first pass (no sketch, no first image), the rounds start from the saved picture.
TEST_F(GenerateEzigenCli, StartImageSkipsTheFirstPass) {
  const ScratchDir tmp("ezigen_start");
  const fs::path out = tmp.path() / "s.png", json = tmp.path() / "s.json";
  run_cli(cli::generate, {"--model", model(), "--adapter", adapter(), "--subject", dog(), "--prompt", "p", "--steps",
                          "4", "--rounds", "1", "--seed", "2", "--precision", "fp32", "--save-rounds", "--start-image",
                          (fixtures_dir() / "ezigen" / "scene.png").string(), "--out", out.string(), "--json",
                          json.string()});
  EXPECT_TRUE(fs::exists(tmp.path() / "s-round1.png"));
  EXPECT_FALSE(fs::exists(tmp.path() / "s-first.png"));
  EXPECT_FALSE(fs::exists(tmp.path() / "s-sketch.png"));
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["rounds"].size(), 1u);
  EXPECT_FALSE(j["parameters"]["start_image"]["sha256"].get<std::string>().empty());
  EXPECT_EQ(j["timings"]["first_pass_s"].get<double>(), 0.0);
}

}  // namespace
}  // namespace ezivk::test
