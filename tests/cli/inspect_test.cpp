// `ezivk inspect` on the tiny fixture folders: the parameter counts it prints against the safetensors files read
// here directly, the JSON form, and broken folder copies that must fail with an Error naming the tensor or key.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/util/error.h"
#include "engine/io/safetensors.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

// Elements of every floating-point tensor in the component's safetensors files (integer buffers such as
// text_model.embeddings.position_ids are not parameters).
int64_t stored_parameters(const fs::path& component_dir) {
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(component_dir)) {
    if (e.path().extension() != ".safetensors") continue;
    const io::SafetensorsFile f(e.path());
    for (const auto& t : f.tensors())
      if (t.dtype == io::StDType::F32 || t.dtype == io::StDType::F16 || t.dtype == io::StDType::BF16) n += t.numel();
  }
  return n;
}

std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v), out;
  const size_t lead = digits.size() % 3 ? digits.size() % 3 : 3;
  out = digits.substr(0, lead);
  for (size_t i = lead; i < digits.size(); i += 3) out += "," + digits.substr(i, 3);
  return out;
}

class InspectCli : public GpuTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(InspectCli, PrintsTheParameterCountsOfTheFiles) {
  const fs::path dir = model_dir(GetParam());
  const std::string out = run_cli(cli::inspect, {dir.string()});
  for (const char* comp : {"unet", "vae", "text_encoder"}) {
    const int64_t n = stored_parameters(dir / comp);
    ASSERT_GT(n, 0) << comp;
    EXPECT_TRUE(contains(out, std::string(comp) + ":")) << out;
    EXPECT_TRUE(contains(out, " " + with_commas(n) + " params")) << comp << " " << with_commas(n) << "\n" << out;
  }
  // Both folders say epsilon: sd1-tiny by omitting prediction_type (the default), sd2-tiny explicitly.
  EXPECT_TRUE(contains(out, "(epsilon prediction), scheduler PNDMScheduler")) << out;
}

TEST_P(InspectCli, JsonHasEveryKey) {
  const fs::path dir = model_dir(GetParam());
  const auto j = nlohmann::json::parse(run_cli(cli::inspect, {dir.string(), "--json", "--size", "32x48"}));
  for (const char* k : {"model", "pipeline_class", "family", "prediction_type", "scheduler", "unet", "vae",
                        "text_encoder", "tokenizer", "plan"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* comp : {"unet", "vae", "text_encoder"}) {
    EXPECT_EQ(j[comp]["parameters"].get<int64_t>(), stored_parameters(dir / comp)) << comp;
    for (const char* k : {"files", "tensors", "device_bytes", "stored_bytes", "unused_tensors"})
      EXPECT_TRUE(j[comp].contains(k)) << comp << "." << k;
    // Every stored tensor is read (the text encoder's position_ids buffer is known not to be a weight).
    EXPECT_TRUE(j[comp]["unused_tensors"].empty()) << comp << ": " << j[comp]["unused_tensors"].dump();
  }
  const auto& plan = j["plan"];
  EXPECT_EQ(plan["width"], 32);
  EXPECT_EQ(plan["height"], 48);
  const uint64_t weights = j["unet"]["device_bytes"].get<uint64_t>() + j["vae"]["device_bytes"].get<uint64_t>() +
                           j["text_encoder"]["device_bytes"].get<uint64_t>();
  EXPECT_EQ(plan["weights_bytes"].get<uint64_t>(), weights);
  EXPECT_GT(plan["unet_activation_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(plan["peak_bytes"].get<uint64_t>(), weights);
  EXPECT_EQ(j["tokenizer"]["max_length"], 77);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, InspectCli, ::testing::Values("sd2-tiny", "sd1-tiny"), [](const auto& info) {
  return info.param == "sd2-tiny" ? std::string("sd2_tiny") : std::string("sd1_tiny");
});

// A copy of sd2-tiny that a test may break.
class BrokenFolder : public GpuTest {
 protected:
  BrokenFolder() : scratch_("inspect_broken") {
    fs::copy(model_dir("sd2-tiny"), folder(), fs::copy_options::recursive);
  }
  fs::path folder() const { return scratch_.path() / "sd2-tiny"; }
  fs::path unet_file() const { return folder() / "unet" / "diffusion_pytorch_model.safetensors"; }
  void rewrite_unet(const std::string& tensor, const std::optional<std::vector<int64_t>>& shape) {
    copy_safetensors_with(model_dir("sd2-tiny") / "unet" / "diffusion_pytorch_model.safetensors", unet_file(), tensor,
                          shape);
  }

 private:
  ScratchDir scratch_;
};

TEST_F(BrokenFolder, MissingTensorIsNamed) {
  rewrite_unet("down_blocks.1.resnets.0.conv1.weight", std::nullopt);
  const std::string e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "down_blocks.1.resnets.0.conv1.weight")) << e;
}

TEST_F(BrokenFolder, MisshapenTensorIsNamed) {
  rewrite_unet("mid_block.attentions.0.proj_in.weight", std::vector<int64_t>{32, 31});
  const std::string e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "mid_block.attentions.0.proj_in.weight")) << e;
  EXPECT_TRUE(contains(e, "31")) << e;  // the shape found
}

TEST_F(BrokenFolder, BadConfigValueIsNamed) {
  const fs::path cfg = folder() / "unet" / "config.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(cfg));
  j["act_fn"] = "gelu";
  std::ofstream(cfg) << j.dump(2);
  const std::string e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "act_fn")) << e;
  EXPECT_TRUE(contains(e, "config.json")) << e;
}

// Sizes that feed arithmetic are range-checked where they are read: the error names the file and the key, in
// inspect and generate alike (one validation), and nothing aborts or prints a nonsense plan.
TEST_F(BrokenFolder, OutOfRangeConfigValuesNameTheFileAndKey) {
  struct Case {
    std::string file, key;
    nlohmann::json value;
  };
  const std::vector<Case> cases = {
      {"unet/config.json", "sample_size", 5e8},
      {"unet/config.json", "sample_size", 1e12},
      {"unet/config.json", "sample_size", 2147483648.0},
      {"unet/config.json", "sample_size", 1099511627776.0},
      {"unet/config.json", "block_out_channels", {-16, 32, 32}},
      {"unet/config.json", "block_out_channels", {16, 32, 4294967296}},
      {"unet/config.json", "cross_attention_dim", -32},
      {"unet/config.json", "freq_shift", 1e308},
      {"unet/config.json", "layers_per_block", 1000000},
      {"vae/config.json", "scaling_factor", 1e-308},
      {"vae/config.json", "latent_channels", -4},
      {"text_encoder/config.json", "hidden_size", -32},
      {"text_encoder/config.json", "max_position_embeddings", 1e9},
      {"tokenizer/tokenizer_config.json", "model_max_length", 78},
  };
  for (const auto& c : cases) {
    const fs::path cfg = folder() / c.file;
    const std::string original = [&] {
      std::ifstream f(cfg);
      return std::string(std::istreambuf_iterator<char>(f), {});
    }();
    nlohmann::json j = nlohmann::json::parse(original);
    j[c.key] = c.value;
    std::ofstream(cfg) << j.dump(2);
    for (const bool gen : {false, true}) {
      const std::string e =
          gen ? cli_error<Error>(cli::generate, {"--model", folder().string(), "--prompt", "p", "--steps", "1", "--out",
                                                 (folder() / "never.png").string()})
              : cli_error<Error>(cli::inspect, {folder().string()});
      // model_max_length is the tokenizer's; what it collides with is the text encoder's positions.
      const std::string key = c.key == "model_max_length" ? "max_position_embeddings" : c.key;
      EXPECT_TRUE(contains(e, key)) << c.file << " " << c.key << " = " << c.value.dump() << ": " << e;
      EXPECT_TRUE(contains(e, c.key == "model_max_length" ? "tokenizer" : c.file)) << e;
    }
    EXPECT_FALSE(fs::exists(folder() / "never.png"));
    std::ofstream(cfg) << original;
  }
}

// An unknown scheduler class is never silently replaced by another scheduler.
TEST_F(BrokenFolder, UnknownSchedulerClassIsNamedNotReplaced) {
  const fs::path cfg = folder() / "scheduler" / "scheduler_config.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(cfg));
  j["_class_name"] = "LMSDiscreteScheduler";
  std::ofstream(cfg) << j.dump(2);
  const std::string out = (folder() / "x.png").string();
  const std::string e = cli_error<Error>(cli::generate, {"--model", folder().string(), "--prompt", "p", "--steps", "1",
                                                         "--size", "16x16", "--out", out});
  EXPECT_TRUE(contains(e, "LMSDiscreteScheduler")) << e;
  EXPECT_TRUE(contains(e, "--scheduler")) << e;
  EXPECT_FALSE(fs::exists(out));
  // inspect says the same; an explicit scheduler runs.
  EXPECT_TRUE(contains(run_cli(cli::inspect, {folder().string()}), "not supported: generate needs --scheduler"));
  run_cli(cli::generate, {"--model", folder().string(), "--prompt", "p", "--steps", "1", "--size", "16x16",
                          "--scheduler", "ddim", "--out", out});
  EXPECT_TRUE(fs::exists(out));
}

// A NaN in the weights: inspect --check-weights names the file and tensor; generate stops at the first step whose
// latent is no longer finite, naming the step and pointing at --check-weights, and writes nothing.
TEST_F(BrokenFolder, NonFiniteWeightsAreFoundEarly) {
  const fs::path src = model_dir("sd2-tiny") / "unet" / "diffusion_pytorch_model.safetensors";
  const std::string victim = "mid_block.resnets.0.conv1.bias";
  {
    const io::SafetensorsFile in(src);
    std::vector<io::StWriteTensor> out;
    for (const auto& t : in.tensors()) {
      const auto b = in.bytes(t);
      out.push_back({t.name, t.dtype, t.shape, std::vector<std::byte>(b.begin(), b.end())});
      if (t.name == victim) {
        ASSERT_EQ(t.dtype, io::StDType::F32);
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(out.back().data.data() + 3 * 4, &nan, 4);
      }
    }
    io::write_safetensors(unet_file(), out, in.metadata());
  }
  EXPECT_TRUE(contains(run_cli(cli::inspect, {model_dir("sd2-tiny").string(), "--check-weights"}), "every value finite"));
  const std::string e = cli_error<Error>(cli::inspect, {folder().string(), "--check-weights"});
  EXPECT_TRUE(contains(e, victim)) << e;
  EXPECT_TRUE(contains(e, "element 3")) << e;
  EXPECT_TRUE(contains(e, "diffusion_pytorch_model.safetensors")) << e;
  const std::string out = (folder() / "x.png").string();
  const std::string g = cli_error<Error>(cli::generate, {"--model", folder().string(), "--prompt", "p", "--steps", "3",
                                                         "--size", "16x16", "--out", out});
  EXPECT_TRUE(contains(g, "step 1 of 4 (t=667)")) << g;  // PNDM's 3 steps are 4 UNet calls
  EXPECT_TRUE(contains(g, "--check-weights")) << g;
  EXPECT_FALSE(fs::exists(out));
}

// A degenerate schedule is refused before the first step, naming the settings to look at.
TEST_F(BrokenFolder, DegenerateScheduleFailsBeforeAnyStep) {
  const std::string out = (folder() / "x.png").string();
  const std::string e = cli_error<Error>(cli::generate, {"--model", folder().string(), "--prompt", "p", "--steps", "3",
                                                         "--size", "16x16", "--scheduler", "ddim", "--scheduler-set",
                                                         "beta_start=0", "--scheduler-set", "beta_end=0", "--out", out});
  EXPECT_TRUE(contains(e, "beta_start")) << e;
  EXPECT_TRUE(contains(e, "degenerate")) << e;
  EXPECT_FALSE(fs::exists(out));
}

// Messages blame the right file: a config that is a directory, a sharded index with nothing in it, a pad token
// the vocabulary lacks (named in special_tokens_map.json, not vocab.json's fault).
TEST_F(BrokenFolder, MessagesNameTheFileAtFault) {
  const fs::path cfg = folder() / "vae" / "config.json";
  fs::remove(cfg);
  fs::create_directory(cfg);
  std::string e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "vae/config.json: is a directory")) << e;
  fs::remove(cfg);
  fs::copy_file(model_dir("sd2-tiny") / "vae" / "config.json", cfg);

  fs::remove(unet_file());
  std::ofstream(folder() / "unet" / "diffusion_pytorch_model.safetensors.index.json") << R"({"metadata": {}, "weight_map": {}})";
  e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "diffusion_pytorch_model.safetensors.index.json: 'weight_map' is empty")) << e;
  fs::remove(folder() / "unet" / "diffusion_pytorch_model.safetensors.index.json");
  fs::copy_file(model_dir("sd2-tiny") / "unet" / "diffusion_pytorch_model.safetensors", unet_file());

  const fs::path special = folder() / "tokenizer" / "special_tokens_map.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(special));
  j["pad_token"] = "<|no-such-token|>";
  std::ofstream(special) << j.dump(2);
  e = cli_error<Error>(cli::inspect, {folder().string()});
  EXPECT_TRUE(contains(e, "special_tokens_map.json: the pad token '<|no-such-token|>' is not in the vocabulary")) << e;
}

// With fp32 forced (as on a device without fp16), inspect plans like generate instead of failing on f16 files.
TEST_F(BrokenFolder, ForcedFp32InspectsLikeGenerate) {
  ::setenv("EZIVK_FORCE_FP32", "1", 1);
  std::string printed;
  // sd1-tiny's files hold f16 weights.
  EXPECT_NO_THROW(printed = run_cli(cli::inspect, {model_dir("sd1-tiny").string()}));
  ::unsetenv("EZIVK_FORCE_FP32");
  EXPECT_TRUE(contains(printed, "f32")) << printed;
}

TEST(InspectCliArgs, MissingFolderIsNamed) {
  const std::string path = (fs::path(::testing::TempDir()) / "ezivk_no_such_model_folder").string();
  const std::string e = cli_error<Error>(cli::inspect, {path});
  EXPECT_TRUE(contains(e, path)) << e;
}

TEST(InspectCliArgs, BadSizeIsAUsageError) {
  const std::string dir = model_dir("sd2-tiny").string();
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::inspect, {dir, "--size", "501x512"}), "--size"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::inspect, {dir, "--size", "big"}), "--size"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::inspect, {}), "MODEL_DIR"));
}

}  // namespace
}  // namespace ezivk::test
