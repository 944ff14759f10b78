// The memory budget, checked by planning alone (no weights read, nothing allocated): SD2.1-base at 512x512
// with fp16 weights, guidance (UNet batch 2) must fit in 4 GB of device memory, weights (≈2.6 GB) included.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/component.h"
#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/vae_tiling.h"
#include "engine/util/error.h"
#include "engine/models/sd21_base.h"
#include "engine/models/unet2d_condition.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {


// SD2.1-base's three models in dry mode (names and shapes, no weights read, nothing on the device).
struct Sd21Dry {
  explicit Sd21Dry(DType dt)
      : unet(models::random_component<models::UNet2DConditionModel>(
            models::UNetConfig::from_json(models::sd21_base_config("unet")), "unet", nullptr, dt, 1)),
        vae(models::random_component<models::AutoencoderKL>(models::VaeConfig::from_json(models::sd21_base_config("vae")),
                                                            "vae", nullptr, dt, 2)),
        text(models::random_component<models::ClipTextModel>(
            models::ClipTextConfig::from_json(models::sd21_base_config("text_encoder")), "text_encoder", nullptr, dt, 3)) {}
  models::Component<models::UNet2DConditionModel, models::UNetConfig> unet;
  models::Component<models::AutoencoderKL, models::VaeConfig> vae;
  models::Component<models::ClipTextModel, models::ClipTextConfig> text;
};

TEST(MemoryPlan, Sd21BaseAt512FitsIn4GB) {
  gpu::Context& ctx = shared_context();
  const DType dt = DType::F16;
  const Sd21Dry m(dt);
  const auto& [unet, vae, text] = m;
  // The spec's parameter counts: the dry store saw the real architecture.
  EXPECT_EQ(unet.report.parameters, 865910724);
  EXPECT_EQ(vae.report.parameters, 83653863);
  EXPECT_EQ(text.report.parameters, 340387840);
  const uint64_t weights = unet.report.device_bytes + vae.report.device_bytes + text.report.device_bytes;

  const auto plan =
      pipeline::plan_activations(ctx, dt, *text.model, *unet.model, *vae.model, pipeline::PlanShape{});
  const uint64_t u = plan.unet, x = plan.text, v = plan.vae_decode;
  const uint64_t peak = weights + plan.peak();
  std::printf("weights %.2f GB, activations: unet %.0f MB, text %.0f MB, vae decode %.0f MB -> peak %.2f GB\n",
              weights / 1e9, u / 1e6, x / 1e6, v / 1e6, peak / 1e9);
  EXPECT_LT(weights, uint64_t(2.7e9));
  EXPECT_LT(peak, uint64_t(4e9));
  // No activation may hold a whole attention matrix (4096² per head): the UNet's plan stays far below one.
  EXPECT_LT(u, uint64_t(2) * 5 * 4096 * 4096 * 2);
}

// What hooks allocate and what VAE encoding needs are part of the plan: a hook that holds a [B, 2N, 16C] buffer
// (larger than the plain UNet's whole peak) raises the hooked UNet's peak by at least that, and encoding an image
// is planned.
TEST(MemoryPlan, HooksAndVaeEncodeArePlanned) {
  gpu::Context& ctx = shared_context();
  const DType dt = DType::F16;
  const Sd21Dry m(dt);
  const auto& [unet, vae, text] = m;
  int calls = 0;
  models::BlockHooks hooks;
  hooks.extra_attention = [&](models::Graph& g, const std::string&, const ops::Tensor& n1, const ops::Tensor&) {
    ++calls;
    models::Act big = g.alloc({n1.dim(0), 2 * n1.dim(1), 16 * n1.dim(2)});
  };
  pipeline::PlanShape shape;
  const auto plain = pipeline::plan_activations(ctx, dt, *text.model, *unet.model, *vae.model, shape);
  EXPECT_EQ(plain.unet_hooked, 0u);
  EXPECT_EQ(plain.vae_encode, 0u);
  shape.hooks = &hooks;
  shape.encode_batch = 1;
  const auto p = pipeline::plan_activations(ctx, dt, *text.model, *unet.model, *vae.model, shape);
  EXPECT_EQ(calls, 16);  // SD2.1's transformer blocks, planned once
  EXPECT_EQ(p.unet, plain.unet);
  const uint64_t hook_bytes = uint64_t(2) * 8192 * 16 * 320 * 2;  // the first block's: 168 MB, over the plain peak
  ASSERT_GT(hook_bytes, plain.unet);
  EXPECT_GE(p.unet_hooked, hook_bytes);
  EXPECT_GT(p.vae_encode, 0u);
  EXPECT_GE(p.peak(), std::max(p.unet_hooked, p.vae_encode));
  std::printf("unet %.0f MB, with the hook %.0f MB, vae encode %.0f MB\n", p.unet / 1e6, p.unet_hooked / 1e6,
              p.vae_encode / 1e6);
}

// The failures on a 128 MiB storage-buffer range (lavapipe's, and that of many integrated GPUs), by
// planning alone: SD2.1-base in fp32 at 512x512 (the token table is 193 MiB, the VAE's last blocks 256 MiB) and in
// fp16 at 1024x1024 (the feed-forward's 8C intermediate is 160 MiB) now plan; a size past the largest fails before
// any work, naming the model part, the op and the tensor.
TEST(MemoryPlan, Sd21BaseOnA128MiBStorageRange) {
  gpu::ContextOptions o;
  o.max_storage_range = uint64_t(128) << 20;
  gpu::Context ctx(o);
  for (const DType dt : {DType::F32, DType::F16}) {
    const Sd21Dry m(dt);
    const auto& [unet, vae, text] = m;
    pipeline::PlanShape shape;
    const int64_t side = dt == DType::F32 ? 512 : 1024;
    shape.h = shape.w = side / 8;
    EXPECT_NO_THROW(pipeline::plan_activations(ctx, dt, *text.model, *unet.model, *vae.model, shape)) << dtype_name(dt);
    const auto tiling = pipeline::plan_decode_tiling(ctx, dt, *vae.model, 1, shape.h, shape.w);
    EXPECT_TRUE(tiling.tiled) << dtype_name(dt) << ": the whole decode at " << side << " is over 128 MiB";
    const int64_t largest = pipeline::largest_square_size(ctx, dt, *text.model, *unet.model, *vae.model, shape);
    std::printf("SD2.1-base, %s, 128 MiB range: largest square size %lldx%lld; at %lld the VAE decodes in %zu tiles of "
                "%lldx%lld latent pixels\n",
                dtype_name(dt), (long long)largest, (long long)largest, (long long)side,
                tiling.rows.size() * tiling.cols.size(), (long long)tiling.tile_w, (long long)tiling.tile_h);
    EXPECT_GE(largest, side);
    EXPECT_EQ(largest % 64, 0);
    shape.h = shape.w = (largest + 64) / 8;
    try {
      pipeline::plan_activations(ctx, dt, *text.model, *unet.model, *vae.model, shape);
      ADD_FAILURE() << "no error past the largest size";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("UNet at " + std::to_string(largest + 64) + "x"), std::string::npos) << m;
      EXPECT_NE(m.find("storage-buffer range of 128.0 MiB"), std::string::npos) << m;
    }
  }
}

}  // namespace
}  // namespace ezivk::test
