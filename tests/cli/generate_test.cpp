// `ezivk generate` on the tiny sd2-tiny folder: the PNG holds the reference pipeline's image (tools/fixtures/
// make_t2i_fixtures.py, same prompt, seed and scheduler) and the parameters; the JSON report has them too; bad
// arguments fail before anything is written.
#include <gtest/gtest.h>

#include <csignal>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/util/error.h"
#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "engine/pipeline/cancel.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

std::string model() { return model_dir("sd2-tiny").string(); }

using GenerateCli = GpuTest;

TEST_F(GenerateCli, WritesTheReferenceImageWithItsParameters) {
  const ScratchDir tmp("generate");
  const fs::path png = tmp.path() / "cat.png", json = tmp.path() / "report.json";
  const std::string printed =
      run_cli(cli::generate, {"--model", model(), "--prompt", "a photo of a cat", "--steps", "6", "--seed", "42",
                              "--scheduler", "ddim", "--precision", "fp32", "--out", png.string(), "--json", json.string()});
  EXPECT_TRUE(contains(printed, png.string()));

  // Pixels: the reference's uint8 image [1, H, W, 3]; fp32 differences may flip a rounding by one level.
  const io::Image8 img = io::read_png(png);
  io::NpyArray want = io::read_npy(golden_dir("sd2-tiny") / "t2i_ddim_image_u8.npy");
  ASSERT_EQ(want.shape, (std::vector<int64_t>{1, 16, 16, 3}));
  ASSERT_EQ(img.width, 16);
  ASSERT_EQ(img.channels, 3);
  const auto ref = want.as_i64();
  int off_by_one = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const int d = std::abs(int(img.pixels[i]) - int(ref[i]));
    ASSERT_LE(d, 1) << "pixel value " << i;
    off_by_one += d;
  }
  EXPECT_LE(off_by_one, int(ref.size() / 50));

  // What reproduces the image travels with it.
  std::map<std::string, std::string> text;
  for (auto& [k, v] : io::read_png_text(png)) text[k] = v;
  EXPECT_EQ(text["prompt"], "a photo of a cat");
  EXPECT_EQ(text["seed"], "42");
  EXPECT_EQ(text["steps"], "6");
  EXPECT_EQ(text["scheduler"], "ddim");
  EXPECT_EQ(text["size"], "16x16");
  EXPECT_TRUE(contains(text["parameters"], "\"guidance\":7.5"));

  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["parameters"]["seed"], 42);
  EXPECT_EQ(j["parameters"]["prompt"], "a photo of a cat");
  EXPECT_EQ(j["timesteps"].size(), 6u);
  EXPECT_EQ(j["timings"]["per_step_s"].size(), 6u);
  EXPECT_GT(j["device_memory"]["weights_bytes"].get<uint64_t>(), 0u);
  for (const char* k : {"text_encoder_s", "steps_s", "vae_decode_s", "total_s"}) EXPECT_TRUE(j["timings"].contains(k)) << k;
}

TEST_F(GenerateCli, BatchWritesOneFilePerImage) {
  const ScratchDir tmp("generate_batch");
  run_cli(cli::generate, {"--model", model(), "--prompt", "a dog", "--steps", "2", "--seed", "1", "--batch", "2",
                          "--scheduler", "euler-a", "--size", "24x16", "--out", (tmp.path() / "d.png").string()});
  for (const char* f : {"d-0.png", "d-1.png"}) {
    const auto img = io::read_png(tmp.path() / f);
    EXPECT_EQ(img.width, 24);
    EXPECT_EQ(img.height, 16);
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "d.png"));
}

// Head widths 6 (text encoder, UNet) and 5 (UNet) and 12 (VAE), which attention once refused: the whole run works
// in both precisions and gives a real image.
TEST_F(GenerateCli, RunsModelsWithAnyHeadWidth) {
  const ScratchDir tmp("generate_odd");
  for (const char* precision : {"fp32", "fp16"}) {
    const fs::path png = tmp.path() / (std::string(precision) + ".png");
    run_cli(cli::generate, {"--model", model_dir("odd-tiny").string(), "--prompt", "a dog", "--steps", "2", "--seed", "3",
                            "--precision", precision, "--out", png.string()});
    const auto img = io::read_png(png);
    EXPECT_EQ(img.width, 16);
    int lo = 255, hi = 0;
    for (uint8_t v : img.pixels) lo = std::min<int>(lo, v), hi = std::max<int>(hi, v);
    EXPECT_GT(hi - lo, 20) << precision << ": a flat image";
  }
}

TEST_F(GenerateCli, BadArgumentsFailBeforeWriting) {
  const ScratchDir tmp("generate_errors");
  const std::string out = (tmp.path() / "x.png").string();
  const std::vector<std::string> base = {"--model", model(), "--prompt", "p", "--steps", "1", "--out", out};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--scheduler", "heun"})), "ddim"));
  // sd2-tiny's VAE downsamples by 2: the message names that factor, not SD's 8.
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--size", "99x64"})), "downsamples by 2"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--size", "64"})), "WIDTHxHEIGHT"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--size", "64x 64"})), "--size height"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--steps", " 3"})), "--steps"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--steps", "+3"})), "--steps"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--guidance", "0x1p3"})), "--guidance"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--guidance", " 7"})), "--guidance"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--steps", "0"})), "--steps"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--guidance", "abc"})), "--guidance"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, {"--prompt", "p"}), "--model"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, {"--model", "/nonexistent/sd", "--prompt", "p", "--out", out}),
                       "/nonexistent/sd"));
  // A scheduler override the engine does not know names the key.
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--scheduler-set", "no_such_key=1"})), "no_such_key"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::generate, with({"--negative", "bad \xff byte"})), "--negative"));
  EXPECT_FALSE(fs::exists(out));
}

// Every output path is checked before any work, and a run writes all of its outputs or none: an unwritable
// --json no longer costs the PNG it would have replaced, --out and --json cannot be the same file, a batch whose
// later path fails writes none, and /dev/null or a FIFO is never replaced by a regular file.
TEST_F(GenerateCli, OutputsAreCheckedBeforeTheRunAndWrittenTogether) {
  const ScratchDir tmp("generate_outputs");
  const fs::path png = tmp.path() / "x.png";
  { std::ofstream(png) << "old image"; }
  auto old_png = [&] {
    std::ifstream f(png);
    return std::string(std::istreambuf_iterator<char>(f), {}) == "old image";
  };
  const std::vector<std::string> base = {"--model", model(), "--prompt", "p", "--steps", "1", "--seed", "1",
                                         "--size", "16x16", "--out", png.string()};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  fs::create_directory(tmp.path() / "dir");
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--json", (tmp.path() / "dir").string()})),
                       "is a directory"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--json", "/proc/ezivk.json"})), "cannot create files"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--json", png.string()})), "same file as --out"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, with({"--json", "/dev/null"})), "device node"));
  EXPECT_TRUE(old_png());
  // A batch whose second image path is a folder: the first is not written either.
  fs::create_directory(tmp.path() / "b-1.png");
  EXPECT_TRUE(contains(cli_error<Error>(cli::generate, {"--model", model(), "--prompt", "p", "--steps", "1", "--batch",
                                                        "2", "--size", "16x16", "--out", (tmp.path() / "b.png").string()}),
                       "b-1.png"));
  EXPECT_FALSE(fs::exists(tmp.path() / "b-0.png"));
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // And a good run writes both, leaving no temporaries.
  const fs::path json = tmp.path() / "x.json";
  run_cli(cli::generate, with({"--json", json.string()}));
  EXPECT_FALSE(old_png());
  EXPECT_TRUE(fs::exists(json));
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++n;
  EXPECT_EQ(n, 4u);  // x.png, x.json, dir, b-1.png
}

// Ctrl-C (a real SIGINT through the command's handler) stops after the current step: Cancelled, nothing written,
// and the process's own SIGINT handling is back afterwards.
TEST_F(GenerateCli, InterruptStopsAfterTheCurrentStepAndWritesNothing) {
  const ScratchDir tmp("generate_interrupt");
  const std::string out = (tmp.path() / "x.png").string(), json = (tmp.path() / "x.json").string();
  ::setenv("EZIVK_TEST_INTERRUPT_AFTER_STEP", "2", 1);
  const auto before = std::signal(SIGINT, SIG_DFL);
  std::signal(SIGINT, before);
  bool cancelled = false;
  try {
    run_cli(cli::generate, {"--model", model(), "--prompt", "p", "--steps", "5", "--seed", "1", "--precision", "fp32",
                            "--out", out, "--json", json});
  } catch (const pipeline::Cancelled&) {
    cancelled = true;
  }
  ::unsetenv("EZIVK_TEST_INTERRUPT_AFTER_STEP");
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(json));
  EXPECT_EQ(std::signal(SIGINT, before), before);
}

}  // namespace
}  // namespace ezivk::test
