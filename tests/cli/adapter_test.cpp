// `ezivk adapter extract` and `ezivk inspect CHECKPOINT`: the adapters-only file is written (and nothing when the
// input has no adapters), and the checkpoint report lists every adapter in execution order.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/util/error.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

TEST(AdapterCli, ExtractAndInspect) {
  const ScratchDir tmp("adapter_cli");
  const fs::path out = tmp.path() / "a.safetensors";
  const std::string ck = (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string();
  EXPECT_TRUE(contains(run_cli(cli::adapter, {"extract", ck, out.string()}), "11 adapters"));
  ASSERT_TRUE(fs::exists(out));
  const auto j = nlohmann::json::parse(run_cli(cli::inspect, {out.string(), "--json"}));
  EXPECT_EQ(j["main_unet_tensors"], 0);
  ASSERT_EQ(j["adapters"].size(), 11u);
  EXPECT_EQ(j["adapters"][4]["block"], "mid_block.attentions.0.transformer_blocks.0");
  const std::string text = run_cli(cli::inspect, {ck});
  EXPECT_TRUE(contains(text, "494 of the main UNet")) << text;
  // A file without adapters: an error naming it, nothing written.
  const fs::path none = tmp.path() / "none.safetensors";
  const std::string unet = (model_dir("sd2-tiny") / "unet" / "diffusion_pytorch_model.safetensors").string();
  EXPECT_TRUE(contains(cli_error<Error>(cli::adapter, {"extract", unet, none.string()}), "no EZIGen adapters"));
  EXPECT_FALSE(fs::exists(none));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::adapter, {"extract", ck, "out.bin"}), ".safetensors"));
}

}  // namespace
}  // namespace ezivk::test
