#include "engine/io/json_file.h"

#include <gtest/gtest.h>

#include "tests/io/io_test_util.h"

namespace ezivk::io {
namespace {

using io_test::TempDir;
using io_test::throws_error_with;
using io_test::write_bytes;

const char* kConfig = R"({
  "_class_name": "UNet2DConditionModel",
  "in_channels": 4,
  "sample_size": 96.0,
  "scaling_factor": 0.18215,
  "norm_eps": 1e-05,
  "center_input_sample": false,
  "use_linear_projection": true,
  "attention_head_dim": [5, 10, 20, 20],
  "num_heads": 8,
  "block_out_channels": [320, 640, 1280, 1280],
  "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
  "cross_attention_dim": null,
  "huge": 18446744073709551615,
  "negative": -3,
  "name": "x"
})";

TEST(JsonFile, ReadsTypedValuesAndDefaults) {
  TempDir dir;
  const auto p = dir / "config.json";
  write_bytes(p, kConfig);
  JsonFile j(p);
  EXPECT_EQ(j.path(), p);
  EXPECT_EQ(j.string("_class_name"), "UNet2DConditionModel");
  EXPECT_EQ(j.integer("in_channels"), 4);
  EXPECT_EQ(j.integer("sample_size"), 96);  // an integral float is accepted as an integer
  EXPECT_EQ(j.integer("negative"), -3);
  EXPECT_DOUBLE_EQ(j.number("scaling_factor"), 0.18215);
  EXPECT_DOUBLE_EQ(j.number("norm_eps"), 1e-5);
  EXPECT_DOUBLE_EQ(j.number("in_channels"), 4.0);
  EXPECT_FALSE(j.boolean("center_input_sample", true));
  EXPECT_TRUE(j.boolean("use_linear_projection", false));
  EXPECT_EQ(j.int_list("block_out_channels"), (std::vector<int64_t>{320, 640, 1280, 1280}));
  EXPECT_EQ(j.string_list("down_block_types"), (std::vector<std::string>{"CrossAttnDownBlock2D", "DownBlock2D"}));
  EXPECT_EQ(j.int_or_list("attention_head_dim", 4), (std::vector<int64_t>{5, 10, 20, 20}));
  EXPECT_EQ(j.int_or_list("num_heads", 3), (std::vector<int64_t>{8, 8, 8}));

  EXPECT_TRUE(j.has("in_channels"));
  EXPECT_FALSE(j.has("cross_attention_dim"));  // null counts as absent
  EXPECT_FALSE(j.has("nope"));
  EXPECT_EQ(j.integer("cross_attention_dim", 1024), 1024);
  EXPECT_EQ(j.integer("nope", 7), 7);
  EXPECT_EQ(j.integer("in_channels", 7), 4);
  EXPECT_DOUBLE_EQ(j.number("nope", 2.5), 2.5);
  EXPECT_TRUE(j.boolean("nope", true));
  EXPECT_EQ(j.string("nope", "dflt"), "dflt");
  EXPECT_EQ(j.string("name", "dflt"), "x");
  EXPECT_EQ(j.int_or_list("nope", 2, 64), (std::vector<int64_t>{64, 64}));
}

TEST(JsonFile, WrongOrMissingKeysNameFileKeyAndExpectation) {
  TempDir dir;
  const auto p = dir / "config.json";
  write_bytes(p, kConfig);
  JsonFile j(p);
  EXPECT_TRUE(throws_error_with([&] { j.integer("nope"); }, {"config.json: missing key 'nope'"}));
  EXPECT_TRUE(throws_error_with([&] { j.integer("cross_attention_dim"); },
                                {"config.json", "missing key 'cross_attention_dim'"}));
  EXPECT_TRUE(throws_error_with([&] { j.string("nope"); }, {"config.json", "missing key 'nope'"}));
  EXPECT_TRUE(throws_error_with([&] { j.number("nope"); }, {"config.json", "missing key 'nope'"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_list("nope"); }, {"config.json", "missing key 'nope'"}));
  EXPECT_TRUE(throws_error_with([&] { j.string_list("nope"); }, {"config.json", "missing key 'nope'"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_or_list("nope", 2); }, {"config.json", "missing key 'nope'"}));

  EXPECT_TRUE(throws_error_with([&] { j.integer("_class_name"); },
                                {"config.json: '_class_name' must be an integer, got \"UNet2DConditionModel\""}));
  EXPECT_TRUE(throws_error_with([&] { j.integer("scaling_factor"); },
                                {"config.json", "'scaling_factor' must be an integer", "0.18215"}));
  EXPECT_TRUE(throws_error_with([&] { j.integer("huge"); }, {"config.json", "'huge' must be an integer"}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        j.integer("in_channels", 3);
        j.integer("name", 3);
      },
      {"config.json", "'name'"}));
  EXPECT_TRUE(throws_error_with([&] { j.number("name"); }, {"config.json", "'name' must be a number"}));
  EXPECT_TRUE(throws_error_with([&] { j.number("name", 1.0); }, {"config.json", "'name' must be a number"}));
  EXPECT_TRUE(throws_error_with([&] { j.boolean("in_channels", false); },
                                {"config.json", "'in_channels' must be true or false, got 4"}));
  EXPECT_TRUE(
      throws_error_with([&] { j.string("in_channels"); }, {"config.json", "'in_channels' must be a string, got 4"}));
  EXPECT_TRUE(
      throws_error_with([&] { j.string("in_channels", "d"); }, {"config.json", "'in_channels' must be a string"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_list("down_block_types"); },
                                {"config.json", "'down_block_types' must be a list of integers"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_list("in_channels"); },
                                {"config.json", "'in_channels' must be a list of integers"}));
  EXPECT_TRUE(throws_error_with([&] { j.string_list("block_out_channels"); },
                                {"config.json", "'block_out_channels' must be a list of strings"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_or_list("attention_head_dim", 3); },
                                {"config.json", "'attention_head_dim' must have 3 entries, got 4"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_or_list("name", 3); },
                                {"config.json", "'name' must be an integer or a list of integers"}));
  EXPECT_TRUE(throws_error_with([&] { j.int_or_list("down_block_types", 2); },
                                {"config.json", "'down_block_types' must be a list of integers"}));

  EXPECT_TRUE(
      throws_error_with([&] { j.bad_value("_class_name", "UNet2DConditionModel2, Other"); },
                        {"config.json: '_class_name' = \"UNet2DConditionModel\" is not supported (expected one of: "
                         "UNet2DConditionModel2, Other)"}));
  EXPECT_TRUE(throws_error_with([&] { j.bad_value("in_channels", "3, 9"); },
                                {"config.json: 'in_channels' = 4 is not supported (expected one of: 3, 9)"}));
}

TEST(JsonFile, UnreadableOrInvalidFilesNameThePath) {
  TempDir dir;
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(dir / "absent.json"); }, {"absent.json: does not exist"}));
  const auto bad = dir / "bad.json";
  write_bytes(bad, "{\"a\": 1,}");
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(bad); }, {"bad.json: not valid JSON: "}));
  write_bytes(bad, "");
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(bad); }, {"bad.json: not valid JSON: "}));
  const auto arr = dir / "arr.json";
  write_bytes(arr, "[1, 2]");
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(arr); }, {"arr.json", "must be a JSON object", "array"}));
  EXPECT_TRUE(
      throws_error_with([&] { JsonFile j("mem.json", nlohmann::json(3)); }, {"mem.json", "must be a JSON object"}));
  // Deep nesting is refused while parsing (an error message quoting such a value would recurse per level).
  const auto deep = dir / "deep.json";
  write_bytes(deep, "{\"in_channels\": " + std::string(200000, '[') + std::string(200000, ']') + "}");
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(deep); }, {"deep.json", "nested deeper than 32 levels"}));
  // A directory (or a device, a FIFO) is not read.
  EXPECT_TRUE(throws_error_with([&] { JsonFile j(dir.path()); }, {"is a directory", "expected a JSON file"}));
  JsonFile ok("mem.json", nlohmann::json{{"k", 1}});
  EXPECT_EQ(ok.integer("k"), 1);
  EXPECT_EQ(ok.json().at("k"), 1);
}

}  // namespace
}  // namespace ezivk::io
