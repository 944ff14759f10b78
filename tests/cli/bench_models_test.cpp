// `ezivk bench unet|vae|text --model` on sd2-tiny: the files it writes, the FLOPs it divides by (against the
// counts of tests/cli/model_flops_reference.py, taken from the PyTorch reference's executed matmuls and convs)
// and the memory accounting.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/io/safetensors.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

// Total FLOPs of a case in model_flops_reference.json.
int64_t reference_flops(const std::string& component, const nlohmann::json& shape) {
  std::ifstream f(fs::path(__FILE__).parent_path() / "model_flops_reference.json");
  const auto j = nlohmann::json::parse(f);
  for (const auto& c : j.at("cases"))
    if (c.at("model") == "sd2-tiny" && c.at("component") == component && c.at("shape") == shape)
      return c.at("conv").get<int64_t>() + c.at("linear").get<int64_t>() + c.at("attention").get<int64_t>();
  ADD_FAILURE() << "no reference case " << component << " " << shape;
  return -1;
}

nlohmann::json bench_json(const ScratchDir& tmp, std::vector<std::string> args, std::string* printed = nullptr) {
  const fs::path out = tmp.path() / "bench.txt";
  args.insert(args.end(), {"--model", model_dir("sd2-tiny").string(), "--precision", "fp32", "--repeat", "2",
                           "--warmup", "1", "--out", out.string()});
  const std::string p = run_cli(cli::bench, args);
  if (printed) *printed = p;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp" + std::to_string(::getpid())));
  std::ifstream f(out.string() + ".json");
  return nlohmann::json::parse(f);
}

void check_row(const nlohmann::json& r, int64_t flops) {
  EXPECT_EQ(r.at("flops").at("total").get<int64_t>(), flops) << r.dump();
  EXPECT_EQ(r.at("runs_ms").size(), 2u);
  EXPECT_GT(r.at("mean_ms").get<double>(), 0);
  EXPECT_GT(r.at("first_run_ms").get<double>(), 0);
  EXPECT_NEAR(r.at("gflops_per_s").get<double>(), double(flops) / (r.at("mean_ms").get<double>() * 1e6), 1e-6);
  const uint64_t w = r.at("weights_bytes"), a = r.at("activation_bytes"), i = r.at("input_bytes");
  EXPECT_GT(a, 0u);
  EXPECT_GT(i, 0u);
  EXPECT_EQ(r.at("peak_bytes").get<uint64_t>(), w + a + i);
}

using BenchModelsCli = GpuTest;

TEST_F(BenchModelsCli, UNetRowsPerBatch) {
  const ScratchDir tmp("bench_unet");
  std::string printed;
  // sd2-tiny's VAE downsamples by 2: 16x16 pixels is an 8x8 latent.
  const auto j = bench_json(tmp, {"unet", "--size", "16x16", "--batch", "2,1"}, &printed);
  ASSERT_EQ(j.at("rows").size(), 2u);
  check_row(j["rows"][0], reference_flops("unet", {2, 8, 8}));
  EXPECT_EQ(j["rows"][0]["batch"], 2);
  EXPECT_EQ(j["rows"][1]["batch"], 1);
  EXPECT_EQ(j["rows"][1]["flops"]["total"].get<int64_t>() * 2, j["rows"][0]["flops"]["total"].get<int64_t>());
  // fp32 weights: at least 4 bytes per parameter of the file.
  const io::SafetensorsFile file(model_dir("sd2-tiny") / "unet" / "diffusion_pytorch_model.safetensors");
  uint64_t params = 0;
  for (const auto& t : file.tensors()) params += uint64_t(t.numel());
  EXPECT_GE(j["rows"][0]["weights_bytes"].get<uint64_t>(), 4 * params);
  EXPECT_EQ(j["precision"], "f32");
  EXPECT_TRUE(contains(printed, "first run (pipeline creation)")) << printed;
  EXPECT_TRUE(contains(printed, "GFLOP/s")) << printed;
}

TEST_F(BenchModelsCli, VaeDecodeAndEncode) {
  const ScratchDir tmp("bench_vae");
  const auto j = bench_json(tmp, {"vae", "--size", "8x8", "--batch", "2", "--encode"});
  ASSERT_EQ(j.at("rows").size(), 2u);
  EXPECT_EQ(j["rows"][0]["pass"], "vae decode");
  check_row(j["rows"][0], reference_flops("vae_decode", {2, 4, 4}));
  EXPECT_EQ(j["rows"][1]["pass"], "vae encode");
  EXPECT_GT(j["rows"][1]["flops"]["total"].get<int64_t>(), 0);
}

TEST_F(BenchModelsCli, TextEncoder) {
  const ScratchDir tmp("bench_text");
  const auto j = bench_json(tmp, {"text", "--batch", "2"});
  ASSERT_EQ(j.at("rows").size(), 1u);
  check_row(j["rows"][0], reference_flops("text", {2, 77}));
}

TEST(BenchModelsCliArgs, BadArgumentsAreUsageErrors) {
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::bench, {"unet", "--batch", "1,,2"}), "--batch"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::bench, {"text", "--size", "64x64"}), "--size"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::bench, {"unet", "--encode"}), "--encode"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::bench, {"clip"}), "clip"));
  // A filter that matches nothing is an error listing what labels look like, not an empty report.
  EXPECT_TRUE(contains(cli_error<Error>(cli::bench, {"ops", "--quick", "--filter", "no-such-op", "--out",
                                                     (std::filesystem::temp_directory_path() / "ezivk_bench_none.txt").string()}),
                       "matches no benchmark"));
}

}  // namespace
}  // namespace ezivk::test
