// viewer::with_demo_defaults: without --model the viewer opens on the demo model, and every option the user gives
// replaces the demo's; with --model nothing is added; a missing demo model is a usage error naming --model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tools/ezivk/commands.h"
#include "viewer/args.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

int count(const std::vector<std::string>& v, const std::string& a) { return int(std::count(v.begin(), v.end(), a)); }

std::string after(const std::vector<std::string>& v, const std::string& a) {
  const auto it = std::find(v.begin(), v.end(), a);
  return it == v.end() || it + 1 == v.end() ? "" : *(it + 1);
}

class DemoDefaults : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("ezivk-demo-defaults-" + std::to_string(::getpid()));
  void SetUp() override {
    fs::create_directories(dir);
    ::setenv("EZIVK_DEMO_DIR", dir.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("EZIVK_DEMO_DIR");
    fs::remove_all(dir);
  }
};

TEST_F(DemoDefaults, FillWhatTheUserLeftOut) {
  std::ofstream(dir / "adapters.safetensors") << "x";
  const auto none = viewer::with_demo_defaults({});
  EXPECT_EQ(after(none, "--model"), dir.string());
  EXPECT_EQ(after(none, "--adapter"), (dir / "adapters.safetensors").string());
  EXPECT_EQ(fs::path(after(none, "--subject")).parent_path(), dir / "subjects");
  EXPECT_FALSE(after(none, "--subject-prompt").empty());
  EXPECT_FALSE(after(none, "--prompt").empty());
  // The demo's own transfer settings, as the README's main job runs it; an empty negative prompt is kept as a value.
  EXPECT_EQ(count(none, "--negative"), 1);
  EXPECT_EQ(after(none, "--negative"), "");
  EXPECT_EQ(after(none, "--split"), "0.7");
  EXPECT_EQ(after(none, "--scheduler"), "ddpm");
  // The user's prompt and seed replace the demo's, once each; their viewer options stay.
  const auto mine = viewer::with_demo_defaults({"--prompt", "a photo of a cat", "--seed", "7", "--select", "0.5,0.5"});
  EXPECT_EQ(count(mine, "--prompt"), 1);
  EXPECT_EQ(after(mine, "--prompt"), "a photo of a cat");
  EXPECT_EQ(count(mine, "--seed"), 1);
  EXPECT_EQ(after(mine, "--seed"), "7");
  EXPECT_EQ(after(mine, "--select"), "0.5,0.5");
  // Their own subject: neither the demo's subject nor its caption.
  const auto subj = viewer::with_demo_defaults({"--subject", "me.png"});
  EXPECT_EQ(count(subj, "--subject"), 1);
  EXPECT_EQ(count(subj, "--subject-prompt"), 0);
  // With --model: exactly the user's arguments.
  const std::vector<std::string> own = {"--model", "m", "--prompt", "p"};
  EXPECT_EQ(viewer::with_demo_defaults(own), own);
}

TEST_F(DemoDefaults, AMissingDemoModelAsksForModel) {
  try {
    viewer::with_demo_defaults({"--prompt", "x"});
    ADD_FAILURE() << "no error";
  } catch (const cli::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--model DIR is required"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ezivk::test
