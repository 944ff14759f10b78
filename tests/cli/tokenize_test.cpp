// `ezivk tokenize --model DIR --json` on sd2-tiny against the ids of the independent tokenizer reference
// (tests/fixtures/golden/sd2-tiny/tokens.json, made by tools/fixtures/clip_bpe_reference.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

TEST(TokenizeCli, IdsMatchTheReference) {
  std::ifstream f(golden_dir("sd2-tiny") / "tokens.json");
  ASSERT_TRUE(f);
  const auto ref = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& c : ref.at("cases")) {
    const std::string prompt = c.at("prompt");
    // "--" so that a prompt starting with '-' is not an option; stderr carries the truncation warning.
    const auto got = nlohmann::json::parse(
        run_cli(cli::tokenize, {"--model", model_dir("sd2-tiny").string(), "--json", "--", prompt}));
    EXPECT_EQ(got.at("ids"), c.at("ids")) << prompt;
    EXPECT_EQ(got.at("length"), c.at("length")) << prompt;
    EXPECT_EQ(got.at("truncated"), c.at("truncated")) << prompt;
    EXPECT_EQ(got.at("dropped"), c.at("dropped")) << prompt;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(TokenizeCli, TextOutputListsIdsAndPieces) {
  const std::string out = run_cli(cli::tokenize, {"--model", model_dir("sd2-tiny").string(), "a photo of a cat"});
  // 912 = <|startoftext|>, 913 = <|endoftext|>; "a" is id 320 in the real CLIP vocabulary and here.
  EXPECT_TRUE(contains(out, "0 912 <|startoftext|>")) << out;
  EXPECT_TRUE(contains(out, "1 320 a</w>")) << out;
  EXPECT_TRUE(contains(out, "8 913 <|endoftext|>")) << out;
  EXPECT_TRUE(contains(out, "9 tokens")) << out;
}

}  // namespace
}  // namespace ezivk::test
