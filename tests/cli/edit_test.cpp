// `ezivk edit` on sd2-tiny: the golden editing case through the command line (the final image is the reference's
// round 2), its parameters in the PNG, and bad input failing before anything is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "engine/util/error.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

using EditCli = GpuTest;

std::string ez(const char* f) { return (fixtures_dir() / "ezigen" / f).string(); }

TEST_F(EditCli, WritesTheReferenceEdit) {
  const ScratchDir tmp("edit_cli");
  const fs::path out = tmp.path() / "e.png", json = tmp.path() / "e.json";
  run_cli(cli::edit, {"--model", model_dir("sd2-tiny").string(), "--adapter",
                      (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string(), "--image", ez("scene.png"), "--mask",
                      ez("scene_mask.png"), "--subject", ez("subject_dog.png"), "--subject-prompt", "a dog", "--prompt",
                      "a dog in the park", "--steps", "10", "--seed", "11", "--rounds", "2", "--precision", "fp32",
                      "--save-rounds", "--out", out.string(), "--json", json.string()});
  const io::Image8 img = io::read_png(out);
  const auto want = io::read_npy(golden_dir("sd2-tiny") / "ezigen_edit_round2_u8.npy").as_i64();
  ASSERT_EQ(img.pixels.size(), want.size());
  int worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(int(img.pixels[i]) - int(want[i])));
  EXPECT_LE(worst, 1);
  EXPECT_TRUE(fs::exists(tmp.path() / "e-round1.png"));
  std::map<std::string, std::string> text;
  for (auto& [k, v] : io::read_png_text(out)) text[k] = v;
  const auto params = nlohmann::json::parse(text["parameters"]);
  EXPECT_EQ(params["seed"], 11);
  EXPECT_EQ(params["blend"], "reference");
  EXPECT_FALSE(params["mask"]["sha256"].get<std::string>().empty());
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["rounds"].size(), 2u);
  EXPECT_EQ(j["inversion_steps"], 4);
}

TEST_F(EditCli, BadInputFailsBeforeWriting) {
  const ScratchDir tmp("edit_errors");
  const fs::path out = tmp.path() / "e.png";
  const std::vector<std::string> base = {"--model", model_dir("sd2-tiny").string(), "--reference-attention",
                                         "--subject", ez("subject_dog.png"), "--prompt", "p", "--steps", "2",
                                         "--out", out.string()};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::edit, with({"--image", ez("scene.png")})), "--mask"));
  const fs::path black = tmp.path() / "black.png";
  io::write_png(black, io::Image8{4, 4, 3, std::vector<uint8_t>(48, 0)});
  EXPECT_TRUE(contains(cli_error<Error>(cli::edit, with({"--image", ez("scene.png"), "--mask", black.string()})),
                       "mask"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::edit, with({"--image", ez("scene.png"), "--mask",
                                                                   ez("scene_mask.png"), "--baseline"})),
                       "--baseline"));
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace ezivk::test
