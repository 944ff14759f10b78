// Tiled VAE decoding (engine/pipeline/vae_tiling.h): the tile layout, the blend weights, and a decode in a 2-D grid
// of tiles on a context whose storage-buffer range is too small for the whole decode.
#include "engine/pipeline/vae_tiling.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/vae_codec.h"
#include "engine/util/error.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using pipeline::tile_origins;
using pipeline::tile_weight;

TEST(VaeTiling, TileOriginsCoverEverythingWithTheOverlap) {
  EXPECT_EQ(tile_origins(10, 16, 4), (std::vector<int64_t>{0}));
  EXPECT_EQ(tile_origins(16, 16, 4), (std::vector<int64_t>{0}));
  EXPECT_EQ(tile_origins(32, 16, 4), (std::vector<int64_t>{0, 12, 16}));
  EXPECT_EQ(tile_origins(28, 16, 4), (std::vector<int64_t>{0, 12}));
  EXPECT_EQ(tile_origins(29, 8, 2), (std::vector<int64_t>{0, 6, 12, 18, 21}));
  for (int64_t n : {9, 17, 64, 100})
    for (int64_t tile : {8, 16, 24}) {
      const auto o = tile_origins(n, tile, tile / 4);
      EXPECT_EQ(o.front(), 0);
      EXPECT_EQ(std::min(n, o.back() + tile), n);
      for (size_t i = 1; i < o.size(); ++i) {
        EXPECT_GT(o[i], o[i - 1]);
        EXPECT_GE(o[i - 1] + tile - o[i], tile / 4) << "n " << n << " tile " << tile;  // the overlap is kept
      }
    }
  EXPECT_THROW(tile_origins(32, 8, 8), Error);
  EXPECT_THROW(tile_origins(0, 8, 2), Error);
}

TEST(VaeTiling, WeightsRampAcrossOverlapsAndStayPositive) {
  EXPECT_FLOAT_EQ(tile_weight(0, 16, 4, false, false), 1.f);
  EXPECT_FLOAT_EQ(tile_weight(0, 16, 4, true, false), 0.125f);
  EXPECT_FLOAT_EQ(tile_weight(3, 16, 4, true, false), 0.875f);
  EXPECT_FLOAT_EQ(tile_weight(4, 16, 4, true, true), 1.f);
  EXPECT_FLOAT_EQ(tile_weight(15, 16, 4, true, true), 0.125f);
  EXPECT_FLOAT_EQ(tile_weight(15, 16, 4, true, false), 1.f);
  // Two tiles overlapping by exactly the ramp: their weights sum to 1 across the band (a linear cross-fade).
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(tile_weight(12 + i, 16, 4, false, true) + tile_weight(i, 16, 4, true, false), 1.f);
}

// sd2-tiny's decoder at 64x64 in fp32 binds [1, 32, 64, 64] (512 KiB) whole; with a 200 KiB range it decodes in a 3x3 grid
// of 16x16-latent tiles. The blend stays close to the whole decode on the device's own range.
TEST(VaeTiling, DecodesInAGridOfTilesCloseToTheWholeDecode) {
  gpu::ContextOptions o;
  o.validation = true;
  o.max_storage_range = 200 << 10;
  gpu::Context small(o);
  gpu::Context& whole_ctx = shared_context();
  const std::vector<int64_t> shape = {1, 4, 32, 32};
  const auto z = random_floats(size_t(4 * 32 * 32), 77, -2.f, 2.f);

  auto decode = [&](gpu::Context& ctx, int* tiles) {
    auto sd = pipeline::load_stable_diffusion(ctx, model_dir("sd2-tiny").string(), DType::F32);
    models::GraphRunner runner(ctx, "tiling test");
    DeviceTensor latent(ctx, shape, DType::F32, z);
    auto out = pipeline::decode_latents(*sd, runner, latent.tensor());
    *tiles = out.tiles;
    return out.raw;
  };
  int tiles_small = 0, tiles_whole = 0;
  const auto tiled = decode(small, &tiles_small);
  const auto whole = decode(whole_ctx, &tiles_whole);
  for (const auto& m : small.validation_messages()) ADD_FAILURE() << "validation message: " << m;
  EXPECT_EQ(tiles_whole, 1);
  EXPECT_GE(tiles_small, 9) << "a 2-D grid";
  ASSERT_EQ(tiled.size(), whole.size());
  double se = 0, ref = 0;
  for (size_t i = 0; i < whole.size(); ++i) se += double(tiled[i] - whole[i]) * (tiled[i] - whole[i]), ref += double(whole[i]) * whole[i];
  const double rel = std::sqrt(se / ref);
  std::printf("%d tiles: relative L2 difference to the whole decode %.4f\n", tiles_small, rel);
  EXPECT_LT(rel, 0.12);  // tiles this small (32 px) see little context; real tiles are 40-64 latent pixels
  EXPECT_GT(rel, 0.0);
}

}  // namespace
}  // namespace ezivk::test
