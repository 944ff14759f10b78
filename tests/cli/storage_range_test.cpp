// Sizes past the device's storage-buffer range, on lavapipe with an artificially small range
// (EZIVK_MAX_STORAGE_RANGE): the VAE decodes in blended tiles when only its whole decode is too wide, and a size
// whose UNet is too wide fails before any work with a message naming the part, the op and the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/io/png.h"
#include "engine/util/error.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

using StorageRangeCli = GpuTest;

std::vector<std::string> args(const fs::path& out, const fs::path& json) {
  return {"--model", model_dir("sd2-tiny").string(), "--prompt", "a cat", "--steps", "2", "--seed", "5", "--size", "64x48",
          "--precision", "fp32", "--out", out.string(), "--json", json.string()};
}

int tiles_in(const fs::path& json) {
  std::ifstream f(json);
  return nlohmann::json::parse(f)["timings"]["vae_decode_tiles"].get<int>();
}

// sd2-tiny at 64x48 in fp32: the UNet's widest binding is 288 KiB (attention over fused QKV), the VAE decoder's
// 384 KiB ([1, 32, 48, 64] after its upsampler). A 300 KiB range leaves only the decoder too wide.
TEST_F(StorageRangeCli, VaeDecodesInBlendedTilesWhenItsWholeDecodeIsTooWide) {
  const ScratchDir tmp("storage_range_tiles");
  run_cli(cli::generate, args(tmp.path() / "whole.png", tmp.path() / "whole.json"));
  EXPECT_EQ(tiles_in(tmp.path() / "whole.json"), 1);
  std::string printed;
  {
    const ScopedEnv range("EZIVK_MAX_STORAGE_RANGE", "300K");
    printed = run_cli(cli::generate, args(tmp.path() / "tiled.png", tmp.path() / "tiled.json"));
  }
  EXPECT_TRUE(contains(printed, "overlapping tiles")) << printed;
  EXPECT_EQ(tiles_in(tmp.path() / "tiled.json"), 2);
  // The same latent (the UNet is untouched), decoded in tiles: close to the whole decode everywhere, including
  // across the blended band (a seam would show as a band of large differences).
  const io::Image8 a = io::read_png(tmp.path() / "whole.png"), b = io::read_png(tmp.path() / "tiled.png");
  ASSERT_EQ(a.pixels.size(), b.pixels.size());
  double se = 0;
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int d = std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    se += double(d) * d;
    worst = std::max(worst, d);
  }
  const double psnr = 10 * std::log10(255.0 * 255.0 / std::max(se / double(a.pixels.size()), 1e-12));
  std::printf("tiled vs whole decode: PSNR %.1f dB, worst pixel difference %d\n", psnr, worst);
  EXPECT_GT(psnr, 35.0);
  EXPECT_LT(worst, 40);
  EXPECT_GT(se, 0.0) << "the tiled path did not run";
}

TEST_F(StorageRangeCli, TooLargeForTheDeviceFailsBeforeAnyWork) {
  const ScratchDir tmp("storage_range_error");
  const ScopedEnv range("EZIVK_MAX_STORAGE_RANGE", "200K");
  ::testing::internal::CaptureStdout();
  std::string msg;
  try {
    cli::generate(args(tmp.path() / "x.png", tmp.path() / "x.json"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    msg = e.what();
  }
  const std::string printed = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(contains(msg, "UNet at 64x48: 'attention' binds [2, 768, 16] f32")) << msg;
  EXPECT_TRUE(contains(msg, "storage-buffer range of 200.0 KiB")) << msg;
  EXPECT_TRUE(contains(msg, "--precision fp16")) << msg;
  EXPECT_FALSE(contains(printed, "step 1/")) << "a step ran before the error:\n" << printed;
  EXPECT_FALSE(fs::exists(tmp.path() / "x.png"));
  EXPECT_FALSE(fs::exists(tmp.path() / "x.json"));
}

// inspect names the largest size the range allows, and how the decoder tiles at the requested one.
TEST_F(StorageRangeCli, InspectPrintsTheLargestSize) {
  const ScopedEnv range("EZIVK_MAX_STORAGE_RANGE", "300K");
  const std::string printed = run_cli(cli::inspect, {model_dir("sd2-tiny").string(), "--size", "64x48", "--precision", "fp32"});
  EXPECT_TRUE(contains(printed, "largest size:  48x48 with batch 1 and guidance in f32")) << printed;
  EXPECT_TRUE(contains(printed, "the VAE decodes each image in 2 tiles")) << printed;
}

}  // namespace
}  // namespace ezivk::test
