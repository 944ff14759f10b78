// viewer::Inputs: the fields start from the launch command line, a run started from the window drops the headless
// and file-writing options but keeps the others, edited fields take effect, and bad values fail as on the command line.
#include "viewer/inputs.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/pipeline/ezigen.h"
#include "tests/models/golden.h"
#include "tools/ezivk/commands.h"

namespace ezivk::test {
namespace {

bool has(const std::vector<std::string>& v, const std::string& a, const std::string& b) {
  for (size_t i = 0; i + 1 < v.size(); ++i)
    if (v[i] == a && v[i + 1] == b) return true;
  return false;
}

TEST(ViewerInputs, FieldsStartFromTheLaunchArgumentsAndRunParsesThem) {
  const std::string model = model_dir("sd2-tiny").string();
  viewer::Inputs in({"--model", model, "--prompt", "a photo of a cat", "--seed", "4", "--precision", "fp32",
                     "--headless-screenshot", "/tmp/x.png", "--dump-state", "/tmp/x.json", "--save", "all", "--window", "800x600"});
  EXPECT_EQ(in.get("--prompt"), "a photo of a cat");
  EXPECT_EQ(in.get("--seed"), "4");
  auto args = in.args();
  EXPECT_TRUE(has(args, "--precision", "fp32"));  // no field: passed through
  EXPECT_TRUE(has(args, "--window", "800x600"));
  EXPECT_EQ(std::find(args.begin(), args.end(), "--headless-screenshot"), args.end());
  EXPECT_EQ(std::find(args.begin(), args.end(), "--save"), args.end());
  in.set("--seed", "9");
  in.set("--steps", "3");
  const auto a = viewer::parse_args(in.args());
  EXPECT_EQ(a.run.t2i.seed, 9u);
  EXPECT_EQ(a.run.t2i.steps, 3);
  EXPECT_EQ(a.run.dtype, ops::DType::F32);
  EXPECT_TRUE(a.screenshot.empty());
  // A subject makes it an EZIGen run; a bad value fails with the command line's message.
  in.set("--subject", (fixtures_dir() / "ezigen" / "subject_dog.png").string());
  in.set("--adapter", (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string());
  in.set("--rounds", "1");
  EXPECT_TRUE(viewer::parse_args(in.args()).run.ezigen.has_value());
  in.set("--steps", "zero");
  try {
    viewer::parse_args(in.args());
    FAIL();
  } catch (const cli::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--steps"), std::string::npos) << e.what();
  }
}

// The negative field is the negative prompt the run uses: an empty one given at launch (the demo's) stays empty through
// Run, and an EZIGen launch without one shows, and runs with, EZIGen's default.
TEST(ViewerInputs, TheNegativeFieldIsTheNegativePromptTheRunUses) {
  const std::string model = model_dir("sd2-tiny").string();
  const std::string subject = (fixtures_dir() / "ezigen" / "subject_dog.png").string();
  const std::string adapter = (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string();
  const std::vector<std::string> base = {"--model", model, "--prompt", "a dog", "--subject", subject, "--adapter", adapter,
                                         "--rounds", "1"};
  auto empty = base;
  empty.insert(empty.end(), {"--negative", ""});
  viewer::Inputs given(empty);
  EXPECT_EQ(given.get("--negative"), "");
  EXPECT_TRUE(has(given.args(), "--negative", ""));
  const auto a = viewer::parse_args(given.args());
  ASSERT_TRUE(a.run.ezigen.has_value());
  EXPECT_EQ(a.run.ezigen->negative, "");

  viewer::Inputs defaulted(base);
  EXPECT_EQ(defaulted.get("--negative"), pipeline::kEzigenNegative);
  EXPECT_EQ(viewer::parse_args(defaulted.args()).run.ezigen->negative, pipeline::kEzigenNegative);
  defaulted.set("--negative", "");
  EXPECT_EQ(viewer::parse_args(defaulted.args()).run.ezigen->negative, "");
}

}  // namespace
}  // namespace ezivk::test
