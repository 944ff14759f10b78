// `ezivk forward` on the tiny sd2-tiny folder: outputs and dump points against the golden tensors of the
// independent PyTorch reference (tests/fixtures/golden/README.md), inputs drawn when not given, and argument errors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "engine/util/error.h"
#include "engine/io/npy.h"
#include "support/gpu_fixture.h"
#include "tests/cli/cli_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

const double kTol = golden_tolerance(DType::F32);

std::string gold(const std::string& file) { return (golden_dir("sd2-tiny") / file).string(); }
std::string model() { return model_dir("sd2-tiny").string(); }

std::set<std::string> npy_names(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

using ForwardCli = GpuTest;

TEST_F(ForwardCli, UNetMatchesGoldenAndDumpsEveryBlock) {
  const ScratchDir tmp("forward_unet");
  const fs::path out = tmp.path() / "out.npy", dump = tmp.path() / "dump";
  const std::string printed =
      run_cli(cli::forward, {"unet", "--model", model(), "--precision", "fp32", "--sample", gold("unet_r0_sample.npy"),
                             "--timestep", gold("unet_r0_timestep.npy"), "--context", gold("unet_r0_context.npy"),
                             "--out", out.string(), "--dump", dump.string()});
  const auto got = io::read_npy(out);
  const auto want = load_golden("sd2-tiny", "unet_r0_out.npy");
  EXPECT_EQ(got.dtype, "<f4");
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_LE(relative_l2(got.as_f32(), want.values), kTol);

  // Every dump point of the UNet, each listed as written and equal to the reference's intermediate.
  const std::set<std::string> expected{"unet.time_emb.npy",     "unet.conv_in.npy",       "unet.down_blocks.0.npy",
                                       "unet.down_blocks.1.npy", "unet.down_blocks.2.npy", "unet.mid_block.npy",
                                       "unet.up_blocks.0.npy",   "unet.up_blocks.1.npy",   "unet.up_blocks.2.npy",
                                       "unet.out.npy"};
  EXPECT_EQ(npy_names(dump), expected);
  for (const auto& name : expected) {
    EXPECT_TRUE(contains(printed, (dump / name).string())) << name << "\n" << printed;
    const auto ref = load_golden("sd2-tiny", "unet_r0_" + name.substr(5));
    const auto d = io::read_npy(dump / name);
    EXPECT_EQ(d.shape, ref.shape) << name;
    EXPECT_LE(relative_l2(d.as_f32(), ref.values), kTol) << name;
  }
}

TEST_F(ForwardCli, DumpFilterSelectsByPrefix) {
  const ScratchDir tmp("forward_filter");
  const fs::path dump = tmp.path() / "dump";
  run_cli(cli::forward, {"unet", "--model", model(), "--precision", "fp32", "--sample", gold("unet_r1_sample.npy"),
                         "--timestep", gold("unet_r1_timestep.npy"), "--context", gold("unet_r1_context.npy"), "--out",
                         (tmp.path() / "o.npy").string(), "--dump", dump.string(), "--dump-filter",
                         "unet.mid,unet.down_blocks.1"});
  EXPECT_EQ(npy_names(dump), (std::set<std::string>{"unet.mid_block.npy", "unet.down_blocks.1.npy"}));
  const auto mid = io::read_npy(dump / "unet.mid_block.npy");
  EXPECT_LE(relative_l2(mid.as_f32(), load_golden("sd2-tiny", "unet_r1_mid_block.npy").values), kTol);
}

TEST_F(ForwardCli, TextEncoderMatchesGolden) {
  const ScratchDir tmp("forward_text");
  const fs::path out = tmp.path() / "hidden.npy";
  run_cli(cli::forward, {"text", "--model", model(), "--precision", "fp32", "--ids", gold("text_ids.npy"), "--out",
                         out.string()});
  const auto want = load_golden("sd2-tiny", "text_hidden.npy");
  const auto got = io::read_npy(out);
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_LE(relative_l2(got.as_f32(), want.values), kTol);
}

TEST_F(ForwardCli, PromptIsTokenizedLikeIds) {
  // tokens.json (from the independent tokenizer reference) says "a photo of a cat" is these ids.
  const std::vector<int64_t> ids{912, 320, 816, 531, 539, 320, 66, 536, 913};
  std::vector<int64_t> padded(ids);
  padded.resize(77, 0);
  const ScratchDir tmp("forward_prompt");
  io::NpyArray a{"<i8", {1, 77}, std::vector<std::byte>(77 * 8)};
  std::memcpy(a.data.data(), padded.data(), a.data.size());
  io::write_npy(tmp.path() / "ids.npy", a);
  run_cli(cli::forward, {"text", "--model", model(), "--precision", "fp32", "--ids", (tmp.path() / "ids.npy").string(),
                         "--out", (tmp.path() / "from_ids.npy").string()});
  run_cli(cli::forward, {"text", "--model", model(), "--precision", "fp32", "--prompt", "a photo of a cat", "--out",
                         (tmp.path() / "from_prompt.npy").string()});
  const auto x = io::read_npy(tmp.path() / "from_ids.npy"), y = io::read_npy(tmp.path() / "from_prompt.npy");
  EXPECT_EQ(x.shape, (std::vector<int64_t>{1, 77, 32}));
  EXPECT_EQ(x.data, y.data);
}

TEST_F(ForwardCli, VaeDecodeAndEncodeMatchGolden) {
  const ScratchDir tmp("forward_vae");
  run_cli(cli::forward, {"vae-decode", "--model", model(), "--precision", "fp32", "--latent", gold("vae_decode_in.npy"),
                         "--out", (tmp.path() / "dec.npy").string()});
  const auto dec = io::read_npy(tmp.path() / "dec.npy");
  const auto want = load_golden("sd2-tiny", "vae_decode_out.npy");
  EXPECT_EQ(dec.shape, want.shape);
  EXPECT_LE(relative_l2(dec.as_f32(), want.values), kTol);

  run_cli(cli::forward, {"vae-encode", "--model", model(), "--precision", "fp32", "--image", gold("vae_encode_in.npy"),
                         "--out", (tmp.path() / "enc.npy").string()});
  const auto enc = io::read_npy(tmp.path() / "enc.npy");
  const auto mean = load_golden("sd2-tiny", "vae_encode_mean.npy"), logvar = load_golden("sd2-tiny", "vae_encode_logvar.npy");
  ASSERT_EQ(enc.shape, (std::vector<int64_t>{1, 8, mean.shape[2], mean.shape[3]}));
  const auto m = enc.as_f32();
  const size_t half = m.size() / 2;  // batch 1: channels [0, 4) mean, [4, 8) logvar
  std::vector<float> lv(m.begin() + ptrdiff_t(half), m.end());
  for (auto& v : lv) v = std::clamp(v, -30.f, 20.f);
  EXPECT_LE(relative_l2({m.begin(), m.begin() + ptrdiff_t(half)}, mean.values), kTol);
  EXPECT_LE(relative_l2(lv, logvar.values), kTol);
}

TEST_F(ForwardCli, RandomInputsAreWrittenAndReproduceTheOutput) {
  const ScratchDir tmp("forward_random");
  const fs::path out = tmp.path() / "rand.npy";
  const std::string printed = run_cli(
      cli::forward, {"unet", "--model", model(), "--precision", "fp32", "--seed", "7", "--batch", "2", "--size",
                     "16x24", "--timestep", "250", "--out", out.string()});
  const fs::path sample = tmp.path() / "rand.sample.npy", context = tmp.path() / "rand.context.npy";
  EXPECT_TRUE(contains(printed, sample.string())) << printed;
  EXPECT_TRUE(contains(printed, "manual_seed(7)")) << printed;
  // sd2-tiny's VAE downsamples by 2: a 16x24 image is an 8x12 latent (H x W = 12 x 8).
  EXPECT_EQ(io::read_npy(sample).shape, (std::vector<int64_t>{2, 4, 12, 8}));
  EXPECT_EQ(io::read_npy(context).shape, (std::vector<int64_t>{2, 77, 32}));
  EXPECT_EQ(io::read_npy(out).shape, (std::vector<int64_t>{2, 4, 12, 8}));

  // The written inputs, given back as files, give the same output; another seed gives another one.
  const fs::path again = tmp.path() / "again.npy", other = tmp.path() / "other.npy";
  run_cli(cli::forward, {"unet", "--model", model(), "--precision", "fp32", "--sample", sample.string(), "--context",
                         context.string(), "--timestep", "250", "--out", again.string()});
  EXPECT_EQ(io::read_npy(again).data, io::read_npy(out).data);
  run_cli(cli::forward, {"unet", "--model", model(), "--precision", "fp32", "--seed", "8", "--batch", "2", "--size",
                         "16x24", "--timestep", "250", "--out", other.string()});
  EXPECT_NE(io::read_npy(other).data, io::read_npy(out).data);
}

// Drawn inputs (OUT.sample.npy ...) go out with the output: a run that fails on a later input, or whose --out is a
// folder, leaves none of them behind and keeps older ones.
TEST_F(ForwardCli, DrawnInputsAreWrittenOnlyWithTheOutput) {
  const ScratchDir tmp("forward_side_inputs");
  const fs::path out = tmp.path() / "o.npy", sample = tmp.path() / "o.sample.npy";
  // The sample is drawn, then the context file turns out to be missing.
  const std::string e = cli_error<Error>(cli::forward, {"unet", "--model", model(), "--context",
                                                        (tmp.path() / "nope.npy").string(), "--out", out.string()});
  EXPECT_TRUE(contains(e, "nope.npy")) << e;
  EXPECT_FALSE(fs::exists(sample));
  EXPECT_FALSE(fs::exists(out));
  { std::ofstream(sample) << "older"; }
  fs::create_directory(tmp.path() / "d.npy");
  EXPECT_TRUE(contains(cli_error<Error>(cli::forward, {"unet", "--model", model(), "--out",
                                                       (tmp.path() / "d.npy").string()}),
                       "is a directory"));
  EXPECT_FALSE(fs::exists(tmp.path() / "d.sample.npy"));
  EXPECT_TRUE(contains(cli_error<Error>(cli::forward, {"unet", "--model", model(), "--context",
                                                       (tmp.path() / "nope.npy").string(), "--out", out.string()}),
                       "nope.npy"));
  std::ifstream f(sample);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), "older");
}

// An input that is a folder, or a .npy of a dtype forward cannot use, names the option it was given to.
TEST_F(ForwardCli, BadInputFilesNameTheirOption) {
  const ScratchDir tmp("forward_bad_files");
  fs::create_directory(tmp.path() / "dir.npy");
  std::string e = cli_error<Error>(cli::forward, {"unet", "--model", model(), "--sample", (tmp.path() / "dir.npy").string(),
                                                  "--out", (tmp.path() / "o.npy").string()});
  EXPECT_TRUE(contains(e, "--sample")) << e;
  EXPECT_TRUE(contains(e, "is a directory")) << e;
  // A complex64 .npy ('<c8'), written by hand: header padded to 128 bytes, 8 bytes of data.
  std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) + char(header.size() >> 8) + header +
                      std::string(8, '\0');
  { std::ofstream(tmp.path() / "c.npy", std::ios::binary) << bytes; }
  e = cli_error<Error>(cli::forward, {"unet", "--model", model(), "--context", (tmp.path() / "c.npy").string(), "--out",
                                      (tmp.path() / "o.npy").string()});
  EXPECT_TRUE(contains(e, "--context")) << e;
  EXPECT_TRUE(contains(e, "c.npy")) << e;
  EXPECT_TRUE(contains(e, "<c8")) << e;
}

TEST(ForwardCliArgs, BadArgumentsAreUsageErrors) {
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::forward, {"unet"}), "--model"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::forward, {"clip", "--model", model()}), "clip"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::forward, {"text", "--model", model(), "--sample", "x.npy"}),
                       "--sample"));
  EXPECT_TRUE(contains(cli_error<cli::UsageError>(cli::forward, {"unet", "--model", model(), "--dump-filter", "unet."}),
                       "--dump"));
}

TEST_F(ForwardCli, MisshapenInputIsNamed) {
  const ScratchDir tmp("forward_bad_input");
  // The text context where the sample belongs: rank 3, not [B, 4, h, w].
  const std::string e = cli_error<cli::UsageError>(
      cli::forward, {"unet", "--model", model(), "--sample", gold("unet_r0_context.npy"), "--out",
                     (tmp.path() / "o.npy").string()});
  EXPECT_TRUE(contains(e, "--sample")) << e;
  EXPECT_TRUE(contains(e, "[2, 77, 32]")) << e;
  const std::string missing = (tmp.path() / "nope.npy").string();
  const std::string e2 = cli_error<Error>(cli::forward, {"vae-decode", "--model", model(), "--latent", missing,
                                                         "--out", (tmp.path() / "o.npy").string()});
  EXPECT_TRUE(contains(e2, missing)) << e2;
}

}  // namespace
}  // namespace ezivk::test
