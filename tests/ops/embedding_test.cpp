#include "engine/ops/embedding.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct EmbCase {
  const char* name;
  int64_t rows, dim, tokens;
};
void PrintTo(const EmbCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class EmbeddingTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<EmbCase, DType>> {};

// Ids live in a guarded f32-sized buffer; their bits are uploaded as they are.
void upload_ids(gpu::Context& ctx, const Guarded& g, const std::vector<uint32_t>& ids) {
  ctx.upload(g.slice(), ids.data(), ids.size() * 4);
}

void check_embedding(gpu::Context& ctx, const EmbCase& c, DType dt);

TEST_P(EmbeddingTest, MatchesReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  check_embedding(ctx(), c, dt);
}

// Against a 16 KiB storage-buffer range the larger tables are bound in runs of rows, one dispatch each.
TEST_P(EmbeddingTest, TableRunsMatchReference) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  check_embedding(small_range_context(), c, dt);
}

void check_embedding(gpu::Context& ctx, const EmbCase& c, DType dt) {
  std::vector<uint32_t> ids(size_t(c.tokens));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint32_t((i * 7919 + 3) % size_t(c.rows));
  ids.back() = uint32_t(c.rows - 1);
  gpu::Arena arena(ctx, "embedding", 8 << 20, gpu::MemoryUse::Device);
  Guarded id_buf(ctx, arena, ids.size(), DType::F32), table(ctx, arena, size_t(c.rows * c.dim), dt),
      y(ctx, arena, size_t(c.tokens * c.dim), dt);
  const auto tv = quantize(random_floats(size_t(c.rows * c.dim), uint32_t(c.rows + c.dim)), dt);
  upload_ids(ctx, id_buf, ids);
  table.upload(tv);
  gpu::Recorder rec(ctx);
  ops::embedding(ctx, rec, id_buf.slice(), uint32_t(ids.size()), table.tensor({c.rows, c.dim}),
                 y.tensor({c.tokens, c.dim}), ids);
  rec.submit_and_wait();
  EXPECT_EQ(y.download(), ops::embedding_ref(ids, tv, c.rows, c.dim));  // a copy: exact
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(table.guards_intact());
  EXPECT_TRUE(id_buf.guards_intact());
}

const EmbCase kCases[] = {
    {"tiny", 1, 1, 1},
    {"odd", 10, 7, 5},
    {"clip_positions", 77, 64, 77},
    {"aligned_vocab", 1000, 128, 77},
    {"odd_vocab", 1237, 37, 90},  // 148-byte rows: runs start at offsets that are not binding-aligned
};

INSTANTIATE_TEST_SUITE_P(Shapes, EmbeddingTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using EmbeddingBounds = GpuTest;

// Without host ids to validate, out-of-range ids reach the shader, which clamps them to the last row.
TEST_F(EmbeddingBounds, OutOfRangeIdsAreClampedOnTheDeviceAndRejectedOnTheHost) {
  const int64_t rows = 5, dim = 3;
  const std::vector<uint32_t> ids{0, 5, 4, 0xffffffffu, 2, 1000};
  gpu::Arena arena(ctx(), "embedding_bounds", 1 << 20, gpu::MemoryUse::Device);
  Guarded id_buf(ctx(), arena, ids.size(), DType::F32), table(ctx(), arena, size_t(rows * dim), DType::F32),
      y(ctx(), arena, ids.size() * size_t(dim), DType::F32);
  const auto tv = random_floats(size_t(rows * dim), 8);
  upload_ids(ctx(), id_buf, ids);
  table.upload(tv);
  gpu::Recorder rec(ctx());
  const auto T = table.tensor({rows, dim}), Y = y.tensor({int64_t(ids.size()), dim});
  expect_error([&] { ops::embedding(ctx(), rec, id_buf.slice(), uint32_t(ids.size()), T, Y, ids); },
               {"embedding", "ids[1]"});
  ops::embedding(ctx(), rec, id_buf.slice(), uint32_t(ids.size()), T, Y);
  rec.submit_and_wait();
  EXPECT_EQ(y.download(), ops::embedding_ref(ids, tv, rows, dim));
  EXPECT_TRUE(y.guards_intact());
}

using EmbeddingErrors = GpuTest;

TEST_F(EmbeddingErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "embedding_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded ids(ctx(), arena, 4, DType::F32), table(ctx(), arena, 12, DType::F32), y(ctx(), arena, 12, DType::F32);
  gpu::Recorder rec(ctx());
  const auto T = table.tensor({4, 3});
  expect_error([&] { ops::embedding(ctx(), rec, ids.slice(), 5, T, y.tensor({5, 3})); }, {"embedding", "ids"});
  expect_error([&] { ops::embedding(ctx(), rec, ids.slice(), 4, T, y.tensor({4, 2})); }, {"embedding", "y"});
  expect_error(
      [&] {
        ops::embedding(ctx(), rec, ids.slice(), 4, table.tensor({12}), y.tensor({4, 3}));
      },
      {"embedding", "table"});
  const std::vector<uint32_t> three{0, 1, 2};
  expect_error(
      [&] {
        ops::embedding(ctx(), rec, ids.slice(), 4, T, y.tensor({4, 3}), three);
      },
      {"embedding", "host_ids"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
