// Adapter weights from every form the issue names: the released folder (whole main UNet + adapters), a torch
// pickle of the adapters, and the adapters-only file `ezivk adapter extract` writes (fp32 and fp16): each gives
// the reference's adapter block output; a learnable_weights of the wrong length and a checkpoint holding part of
// the main UNet are refused naming what is wrong.
#include "engine/pipeline/ezigen_weights.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/io/safetensors.h"
#include "engine/models/graph_runner.h"
#include "engine/pipeline/adapter_checkpoint.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using models::Graph;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::filesystem::path released() { return fixtures_dir() / "adapters" / "sd2-tiny-ezigen"; }

class EzigenWeightsLoad : public GpuTest {
 protected:
  // The adapter block golden through the loaded adapter: its relative L2 error.
  double block_error(const pipeline::EzigenWeights& w, DType dt) {
    const auto hidden = load_golden("sd2-tiny", "ezigen_block_hidden.npy");
    const auto tokens = load_golden("sd2-tiny", "ezigen_block_tokens.npy");
    const auto want = load_golden("sd2-tiny", "ezigen_block_out.npy");
    const DeviceTensor h(ctx(), hidden.shape, dt, hidden.values);
    const DeviceTensor s(ctx(), tokens.shape, dt, tokens.values);
    const auto& b = w.adapter->block("mid_block.attentions.0.transformer_blocks.0");
    models::GraphRunner runner(ctx(), "adapter");
    runner.run(dt, [&](Graph& g) {
      models::Act kv = w.adapter->subject_kv(g, b, s.tensor());
      w.adapter->forward(g, b, h.tensor(), kv);
      return g.alloc({1});
    });
    return relative_l2(models::download_floats(ctx(), h.tensor()), want.values);
  }
};

TEST_F(EzigenWeightsLoad, EveryCheckpointFormGivesTheSameAdapter) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  const ScratchDir tmp("adapters");
  const auto w1 = pipeline::load_ezigen_weights(*sd, released());
  EXPECT_LE(block_error(w1, DType::F32), 1e-5);
  const auto w2 = pipeline::load_ezigen_weights(*sd, fixtures_dir() / "torch" / "adapters.bin");
  EXPECT_EQ(w2.unet_tensors, 0);  // adapters only: the folder's UNet generates
  EXPECT_FALSE(w2.unet);
  EXPECT_LE(block_error(w2, DType::F32), 1e-5);
  const auto out = tmp.path() / "adapters.safetensors", half = tmp.path() / "adapters16.safetensors";
  pipeline::extract_adapters(released(), out, false);
  pipeline::extract_adapters(fixtures_dir() / "torch" / "adapters.bin", half, true);
  EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(released() / "model.safetensors") / 10);
  EXPECT_LE(block_error(pipeline::load_ezigen_weights(*sd, out), DType::F32), 1e-5);
  EXPECT_LE(block_error(pipeline::load_ezigen_weights(*sd, half), DType::F32), 2e-3);
  // The extracted file reports as adapters only, with the learnable weights intact.
  const auto s = pipeline::summarize_adapter_checkpoint(out);
  const auto r = pipeline::summarize_adapter_checkpoint(released());
  EXPECT_EQ(s.other_tensors, 0);
  EXPECT_GT(r.other_tensors, 0);
  EXPECT_EQ(s.learnable_weights, r.learnable_weights);
  EXPECT_EQ(s.blocks.size(), 11u);
  EXPECT_EQ(s.blocks[4], "mid_block.attentions.0.transformer_blocks.0");  // execution order: down, mid, up
}

TEST_F(EzigenWeightsLoad, InconsistentCheckpointsAreRefused) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  const ScratchDir tmp("bad_adapters");
  const io::SafetensorsFile ck(released() / "model.safetensors");
  auto rewrite = [&](const std::filesystem::path& out, auto keep, std::vector<int64_t> lw_shape) {
    std::vector<io::StWriteTensor> ts;
    for (const auto& t : ck.tensors()) {
      if (!keep(t.name)) continue;
      io::StWriteTensor w{t.name, t.dtype, t.shape, {}};
      if (t.name == "learnable_weights") {
        w.shape = lw_shape;
        w.data.assign(size_t(lw_shape[0]) * 4, std::byte{0});
      } else {
        const auto b = ck.bytes(t);
        w.data.assign(b.begin(), b.end());
      }
      ts.push_back(std::move(w));
    }
    io::write_safetensors(out, ts);
  };
  const auto short_lw = tmp.path() / "short.safetensors";
  rewrite(short_lw, [](const std::string& n) { return n.find("adapter") != std::string::npos || n == "learnable_weights"; },
          {5});
  EXPECT_NE(std::string::npos, error_of([&] { pipeline::load_ezigen_weights(*sd, short_lw); }).find("learnable_weights"));
  const auto partial = tmp.path() / "partial.safetensors";
  rewrite(partial, [](const std::string& n) { return n != "conv_in.weight"; }, {11});
  EXPECT_NE(std::string::npos, error_of([&] { pipeline::load_ezigen_weights(*sd, partial); }).find("whole main UNet"));
}

}  // namespace
}  // namespace ezivk::test
