// Injected faults at every point of a small generate run: the n-th device allocation, the n-th queue submit and the
// n-th file write fail, for every n the run reaches. Each gives one ezivk::Error (no crash, no other exception),
// leaves no output and no temporary behind, and the next run works. A fence that never signals becomes an error
// within the timeout instead of a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "engine/util/error.h"
#include "engine/util/fault_injection.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

class FaultInjection : public GpuTest {
 protected:
  void TearDown() override {
    faults::disarm_all();
    GpuTest::TearDown();
  }
};

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST_F(FaultInjection, EveryFailurePointGivesOneErrorAndNoOutput) {
  const ScratchDir tmp("faults");
  const fs::path out = tmp.path() / "x.png", json = tmp.path() / "x.json";
  const std::vector<std::string> args = {"--model", model_dir("sd2-tiny").string(), "--prompt", "p", "--steps", "2",
                                         "--size", "16x16", "--seed", "1", "--out", out.string(), "--json",
                                         json.string()};
  for (const auto kind : {faults::Kind::Alloc, faults::Kind::Submit, faults::Kind::Write}) {
    faults::arm(kind, INT64_MAX);  // count the calls of a whole run
    run_cli(cli::generate, args);
    const int64_t n = faults::calls(kind);
    ASSERT_GT(n, 0);
    fs::remove(out);
    fs::remove(json);
    for (int64_t i = 1; i <= n; ++i) {
      faults::arm(kind, i);
      const std::string e = cli_error<Error>(cli::generate, args);
      EXPECT_FALSE(e.empty()) << "kind " << int(kind) << " call " << i;
      EXPECT_FALSE(fs::exists(out)) << "kind " << int(kind) << " call " << i << ": " << e;
      EXPECT_FALSE(fs::exists(json)) << "kind " << int(kind) << " call " << i << ": " << e;
      EXPECT_EQ(entries(tmp.path()), 0u) << "a temporary was left behind: kind " << int(kind) << " call " << i;
    }
    std::printf("fault kind %d: %lld failure points, each one clean error\n", int(kind), (long long)n);
  }
  faults::disarm_all();
  run_cli(cli::generate, args);
  EXPECT_TRUE(fs::exists(out));
  EXPECT_TRUE(fs::exists(json));
}

TEST_F(FaultInjection, AFenceThatNeverSignalsIsAnErrorWithinTheTimeout) {
  const ScratchDir tmp("faults_hang");
  const fs::path out = tmp.path() / "x.png";
  ::setenv("EZIVK_TIMEOUT_S", "1", 1);
  faults::arm(faults::Kind::Hang, 3);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = cli_error<Error>(cli::generate, {"--model", model_dir("sd2-tiny").string(), "--prompt", "p",
                                                         "--steps", "2", "--size", "16x16", "--out", out.string()});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::unsetenv("EZIVK_TIMEOUT_S");
  EXPECT_TRUE(contains(e, "did not finish within 1 s")) << e;
  EXPECT_LT(s, 60.0);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace ezivk::test
