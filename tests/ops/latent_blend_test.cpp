// latent_blend against its CPU reference on seeded random latents and a soft random mask, aligned and odd shapes,
// with guards around every buffer; a mask of ones keeps x, zeros give bg.
#include "engine/ops/latent_blend.h"

#include <gtest/gtest.h>

#include "engine/util/error.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

struct BlendCase {
  int64_t b, c, h, w;
};

class LatentBlendTest : public GpuTest, public ::testing::WithParamInterface<BlendCase> {};

TEST_P(LatentBlendTest, MatchesReferenceWithGuards) {
  const auto p = GetParam();
  const size_t n = size_t(p.b * p.c * p.h * p.w), hw = size_t(p.h * p.w);
  gpu::Arena arena(ctx(), "blend", 4 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, n, DType::F32), bg(ctx(), arena, n, DType::F32), m(ctx(), arena, hw, DType::F32);
  const auto xv = random_floats(n, 1, -3.f, 3.f), bv = random_floats(n, 2, -3.f, 3.f);
  const auto mv = random_floats(hw, 3, 0.f, 1.f);
  x.upload(xv);
  bg.upload(bv);
  m.upload(mv);
  gpu::Recorder rec(ctx());
  ops::latent_blend(ctx(), rec, x.tensor({p.b, p.c, p.h, p.w}), bg.tensor({p.b, p.c, p.h, p.w}), m.tensor({p.h, p.w}));
  rec.submit_and_wait();
  EXPECT_LE(normalized_error(x.download(), ops::latent_blend_ref(xv, bv, mv)), 1e-6);
  for (auto* g : {&x, &bg, &m}) EXPECT_TRUE(g->guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Shapes, LatentBlendTest,
                         ::testing::Values(BlendCase{1, 4, 64, 64}, BlendCase{2, 4, 7, 13}, BlendCase{1, 1, 1, 1},
                                           BlendCase{1, 4, 97, 3}),
                         [](const auto& info) {
                           const auto& p = info.param;
                           return std::to_string(p.b) + "x" + std::to_string(p.c) + "x" + std::to_string(p.h) + "x" +
                                  std::to_string(p.w);
                         });

using LatentBlendEdges = GpuTest;

TEST_F(LatentBlendEdges, OnesKeepXZerosGiveBg) {
  gpu::Arena arena(ctx(), "blend", 1 << 20, gpu::MemoryUse::Device);
  const size_t n = 4 * 5 * 6;
  Guarded x(ctx(), arena, n, DType::F32), bg(ctx(), arena, n, DType::F32), m(ctx(), arena, 30, DType::F32);
  const auto xv = random_floats(n, 4), bv = random_floats(n, 5);
  std::vector<float> mv(30, 1.f);
  for (size_t i = 0; i < 15; ++i) mv[i] = 0.f;
  x.upload(xv);
  bg.upload(bv);
  m.upload(mv);
  gpu::Recorder rec(ctx());
  ops::latent_blend(ctx(), rec, x.tensor({4, 5, 6}), bg.tensor({4, 5, 6}), m.tensor({5, 6}));
  rec.submit_and_wait();
  const auto got = x.download();
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(got[i], (i % 30) < 15 ? bv[i] : xv[i]) << i;
  EXPECT_THROW(ops::latent_blend(ctx(), rec, x.tensor({4, 5, 6}), bg.tensor({4, 5, 6}), m.tensor({7})), ezivk::Error);
}

}  // namespace
}  // namespace ezivk::test
