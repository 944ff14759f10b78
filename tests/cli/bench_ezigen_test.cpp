// `ezivk bench ezigen` on sd2-tiny with the fixture checkpoint: the phases it reports add up to the run it made
// (6 text-only and 4 transfer steps for 10 steps at split 0.4, then 2 rounds of 4) and both files are written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using BenchEzigenCli = GpuTest;

TEST_F(BenchEzigenCli, ReportsEveryPhase) {
  const ScratchDir tmp("bench_ezigen");
  const auto out = tmp.path() / "b.txt";
  const std::string printed = run_cli(
      cli::bench, {"ezigen", "--model", model_dir("sd2-tiny").string(), "--adapter",
                   (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string(), "--steps", "10", "--rounds", "2",
                   "--precision", "fp32", "--out", out.string()});
  EXPECT_TRUE(contains(printed, "sketch 6 steps"));
  EXPECT_TRUE(contains(printed, "transfer 4 steps"));
  std::ifstream f(out.string() + ".json");
  const auto j = nlohmann::json::parse(f);
  ASSERT_EQ(j["rounds"].size(), 2u);
  EXPECT_GT(j["subject_encoding_s"].get<double>(), 0);
  EXPECT_GT(j["subject_step_s"].get<double>(), 0);
  EXPECT_EQ(j["peak_bytes"].get<uint64_t>(), j["weights_bytes"].get<uint64_t>() + j["adapter_bytes"].get<uint64_t>() +
                                                 j["subject_bank_bytes"].get<uint64_t>() +
                                                 j["activation_bytes"].get<uint64_t>() + j["state_bytes"].get<uint64_t>());
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace ezivk::test
