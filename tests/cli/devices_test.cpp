// `ezivk devices`: the driver this process runs on, every device, and the cooperative-matrix kernels' shape and
// self-check verdict (run with --selfcheck, then read back from the cache folder).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "engine/gpu/private_driver.h"
#include "engine/ops/coopmat.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

// EZIVK_CACHE_DIR pointed at a scratch folder for the test's duration.
class DevicesCli : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    const char* old = std::getenv("EZIVK_CACHE_DIR");
    had_ = old != nullptr;
    if (old) old_ = old;
    ::setenv("EZIVK_CACHE_DIR", dir_.path().c_str(), 1);
  }
  void TearDown() override {
    if (had_)
      ::setenv("EZIVK_CACHE_DIR", old_.c_str(), 1);
    else
      ::unsetenv("EZIVK_CACHE_DIR");
    GpuTest::TearDown();
  }
  ScratchDir dir_{"devices_cli"};
  bool had_ = false;
  std::string old_;
};

TEST_F(DevicesCli, TextNamesTheDriverAndEveryDevice) {
  const std::string out = run_cli(cli::devices, {});
  EXPECT_TRUE(contains(out, "vulkan driver: " + gpu::vulkan_driver_choice())) << out;
  EXPECT_TRUE(contains(out, ctx().caps().name)) << out;
  EXPECT_TRUE(contains(out, "coopmat kernels")) << out;
  if (ops::coopmat_possible(ctx())) {
    EXPECT_TRUE(contains(out, "self-check        not run yet")) << out;
  }
}

TEST_F(DevicesCli, SelfcheckVerdictIsShownAndRemembered) {
  if (!ops::coopmat_possible(ctx())) GTEST_SKIP() << "no usable cooperative matrices on this device";
  auto device = [&](const nlohmann::json& j) {
    for (const auto& d : j["devices"])
      if (d["name"] == ctx().caps().name) return d["coopmat_kernels"];
    ADD_FAILURE() << "device missing from " << j.dump();
    return nlohmann::json();
  };
  const auto first = device(nlohmann::json::parse(run_cli(cli::devices, {"--json", "--selfcheck"})));
  EXPECT_EQ(first["shape"], gpu::coopmat_shape_name(ctx().coopmat_shape()));
  ASSERT_TRUE(first["selfcheck"].is_object()) << first.dump();
  EXPECT_FALSE(first["selfcheck"]["remembered"].get<bool>());
  ASSERT_EQ(first["selfcheck"]["kernels"].size(), 3u);
  for (const auto& k : first["selfcheck"]["kernels"]) {
    EXPECT_EQ(k["verdict"], "ok") << k.dump();
    EXPECT_LE(k["error"].get<double>(), 1e-2);
  }
  EXPECT_TRUE(contains(first["selfcheck"]["file"].get<std::string>(), dir_.path().string()));

  // Without --selfcheck the verdict comes from the cache folder.
  const auto again = device(nlohmann::json::parse(run_cli(cli::devices, {"--json"})));
  EXPECT_TRUE(again["selfcheck"]["remembered"].get<bool>()) << again.dump();
  ASSERT_EQ(again["selfcheck"]["kernels"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto &a = again["selfcheck"]["kernels"][i], &f = first["selfcheck"]["kernels"][i];
    EXPECT_EQ(a["kernel"], f["kernel"]);
    EXPECT_EQ(a["verdict"], f["verdict"]);
    EXPECT_NEAR(a["error"].get<double>(), f["error"].get<double>(), 1e-5 * f["error"].get<double>());
  }
  const std::string text = run_cli(cli::devices, {});
  EXPECT_TRUE(contains(text, "gemm ok")) << text;
  EXPECT_TRUE(contains(text, "remembered in " + dir_.path().string())) << text;
}

TEST(DevicesCliArgs, UnknownOptionIsAUsageError) {
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::devices, {"--bogus"}), "--selfcheck"));
}

}  // namespace
}  // namespace ezivk::test
