// `ezivk bench generate --preview`: one run per listed mode, and each mode's cost is its mean seconds per step over the
// mean of the runs without previews (a repeated mode averaged over its runs), as the report files say.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"
#include "tools/ezivk/cli_args.h"

namespace ezivk::test {
namespace {

using BenchGenerateCli = GpuTest;

TEST_F(BenchGenerateCli, PreviewModesAreTimedAndTheirCostIsOverTheRunsWithout) {
  const ScratchDir tmp("bench_generate");
  const auto out = tmp.path() / "b.txt";
  const std::string printed =
      run_cli(cli::bench, {"generate", "--model", model_dir("sd2-tiny").string(), "--size", "24x40", "--steps", "3",
                           "--scheduler", "ddim", "--preview", "off,host,device,off", "--out", out.string()});
  std::ifstream f(out.string() + ".json");
  const auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["runs"].size(), 4u);
  std::map<std::string, std::vector<double>> per_step;
  for (const auto& r : j["runs"]) {
    EXPECT_EQ(r["steps"].get<int>(), 3);
    EXPECT_EQ(r["per_step_s"].size(), 3u);
    per_step[r["preview"].get<std::string>()].push_back(r["step_s_after_first"].get<double>());
  }
  ASSERT_EQ(per_step["off"].size(), 2u);
  ASSERT_EQ(per_step["host"].size(), 1u);
  ASSERT_EQ(per_step["device"].size(), 1u);
  const double off = (per_step["off"][0] + per_step["off"][1]) / 2;
  ASSERT_EQ(j["preview_costs"].size(), 2u);
  for (const auto& c : j["preview_costs"]) {
    const std::string mode = c["preview"].get<std::string>();
    ASSERT_TRUE(mode == "host" || mode == "device") << mode;
    EXPECT_EQ(c["runs"].get<int>(), 1);
    EXPECT_NEAR(c["cost_fraction"].get<double>(), per_step[mode][0] / off - 1, 1e-9) << mode;
    EXPECT_TRUE(contains(printed, "preview " + mode + " at 3 steps: ")) << printed;
  }
}

TEST(BenchGenerateArgs, AnUnknownPreviewModeIsNamed) {
  const std::string e = cli_error<cli::UsageError>(cli::bench, {"generate", "--preview", "off,fast"});
  EXPECT_TRUE(contains(e, "--preview")) << e;
  EXPECT_TRUE(contains(e, "'fast'")) << e;
}

}  // namespace
}  // namespace ezivk::test
