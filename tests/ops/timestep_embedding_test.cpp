#include "engine/ops/timestep_embedding.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct TsCase {
  const char* name;
  int64_t dim;
  bool flip;
  float shift;
};
void PrintTo(const TsCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class TimestepEmbeddingTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<TsCase, DType>> {};

TEST_P(TimestepEmbeddingTest, MatchesDoubleReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  // Scheduler timesteps reach 999, where an fp32 product t·f is already off by 6e-5: the kernel must not be.
  auto tv = random_floats(5, uint32_t(c.dim), 0.f, 1000.f);
  tv.insert(tv.end(), {999.f, 981.f, 1.f, 0.5f, 4321.25f});
  const int64_t batch = int64_t(tv.size());
  gpu::Arena arena(ctx(), "timestep", 1 << 20, gpu::MemoryUse::Device);
  Guarded t(ctx(), arena, tv.size(), DType::F32), y(ctx(), arena, size_t(batch * c.dim), dt);
  t.upload(tv);
  y.upload(random_floats(size_t(batch * c.dim), 3));  // the padding column must be written, not left over
  gpu::Recorder rec(ctx());
  ops::timestep_embedding(ctx(), rec, t.tensor({batch}), y.tensor({batch, c.dim}), c.flip, c.shift);
  rec.submit_and_wait();
  const auto want = quantize(ops::timestep_embedding_ref(tv, c.dim, c.flip, c.shift), dt);
  EXPECT_LE(normalized_error(y.download(), want), tolerance(dt));
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(t.guards_intact());
}

const TsCase kCases[] = {
    {"sd2_320", 320, true, 0.f},  {"diffusers_default_256", 256, false, 1.f},
    {"odd_7", 7, true, 0.f},      {"odd_9_shift", 9, false, 1.f},
    {"pad_only_1", 1, true, 0.f}, {"two", 2, false, 0.f},
};

INSTANTIATE_TEST_SUITE_P(Dims, TimestepEmbeddingTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using TimestepEmbeddingErrors = GpuTest;

TEST_F(TimestepEmbeddingErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "timestep_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded t(ctx(), arena, 2, DType::F32), y(ctx(), arena, 16, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error(
      [&] {
        ops::timestep_embedding(ctx(), rec, t.tensor({2}), y.tensor({3, 4}), true, 0.f);
      },
      {"timestep_embedding", "y"});
  expect_error(
      [&] {
        ops::timestep_embedding(ctx(), rec, t.tensor({1, 2}), y.tensor({2, 8}), true, 0.f);
      },
      {"timestep_embedding", "timesteps"});
  expect_error(
      [&] {
        ops::timestep_embedding(ctx(), rec, t.tensor({2}), y.tensor({2, 2}), true, 1.f);
      },
      {"timestep_embedding", "downscale_freq_shift"});
  if (ctx().fp16()) {
    Guarded h(ctx(), arena, 2, DType::F16);
    expect_error(
        [&] {
          ops::timestep_embedding(ctx(), rec, h.tensor({2}), y.tensor({2, 8}), true, 0.f);
        },
        {"timestep_embedding", "timesteps", "f32"});
  }
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
