#include "engine/ops/add.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

using ops::AddLayout;

struct AddCase {
  const char* name;
  std::vector<int64_t> a_shape, b_shape;
  AddLayout layout;
  float alpha;
  bool in_place;
};
void PrintTo(const AddCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class AddTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<AddCase, DType>> {};

TEST_P(AddTest, MatchesReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  ops::Tensor a_shape{{}, dt, c.a_shape}, b_shape{{}, dt, c.b_shape};
  const size_t na = size_t(a_shape.numel()), nb = size_t(b_shape.numel());
  gpu::Arena arena(ctx(), "add", 8 << 20, gpu::MemoryUse::Device);
  Guarded a(ctx(), arena, na, dt), b(ctx(), arena, nb, dt), out(ctx(), arena, na, dt);
  const auto av = quantize(random_floats(na, uint32_t(na * 13 + nb)), dt);
  const auto bv = quantize(random_floats(nb, uint32_t(nb * 17 + 3), -2.f, 2.f), dt);
  a.upload(av);
  b.upload(bv);
  out.upload(random_floats(na, 99));  // a stale result must not survive
  gpu::Recorder rec(ctx());
  const Guarded& result = c.in_place ? a : out;
  ops::add(ctx(), rec, a.tensor(c.a_shape), b.tensor(c.b_shape), result.tensor(c.a_shape), c.layout, c.alpha);
  rec.submit_and_wait();
  EXPECT_LE(normalized_error(result.download(), quantize(ops::add_ref(av, bv, c.layout, c.alpha), dt)), tolerance(dt));
  EXPECT_TRUE(a.guards_intact());
  EXPECT_TRUE(b.guards_intact());
  EXPECT_TRUE(out.guards_intact());
}

const AddCase kCases[] = {
    {"same_1", {1}, {1}, AddLayout::same(1), 1.f, false},
    {"same_odd", {7, 143}, {7, 143}, AddLayout::same(1001), 1.f, false},
    {"same_aligned_alpha", {4, 64, 64}, {4, 64, 64}, AddLayout::same(16384), -0.5f, false},
    {"same_in_place", {3, 5, 67}, {3, 5, 67}, AddLayout::same(1005), 1.f, true},
    {"time_embedding_odd", {2, 5, 7, 3}, {2, 5}, AddLayout::per_channel(2, 5, 21), 1.f, false},
    {"time_embedding_in_place", {2, 64, 16, 16}, {2, 64}, AddLayout::per_channel(2, 64, 256), 1.f, true},
    {"position_same", {77, 64}, {77, 64}, AddLayout::same(77 * 64), 1.f, false},
    {"position_over_batch", {3, 7, 5}, {7, 5}, AddLayout::over_batch(3, 35), 1.f, false},
    {"position_over_batch_in_place", {2, 77, 64}, {77, 64}, AddLayout::over_batch(2, 77 * 64), 1.f, true},
    // b [3, 4] read transposed onto a [4, 3, 5], broadcast over the last axis: arbitrary strides.
    {"strided_transpose", {4, 3, 5}, {3, 4}, AddLayout{4, 3, 5, 1, 4, 0}, 2.f, false},
};

INSTANTIATE_TEST_SUITE_P(Layouts, AddTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using AddInPlace = GpuTest;

// Residual adds chained in place on one buffer: each must see the previous one's result (a barrier between
// them, which synchronization validation would flag if missing).
TEST_F(AddInPlace, ChainedInPlaceAddsAreOrdered) {
  const int64_t n = 4099;
  gpu::Arena arena(ctx(), "add_chain", 1 << 20, gpu::MemoryUse::Device);
  Guarded a(ctx(), arena, size_t(n), DType::F32), b(ctx(), arena, size_t(n), DType::F32);
  const auto av = random_floats(size_t(n), 1), bv = random_floats(size_t(n), 2);
  a.upload(av);
  b.upload(bv);
  gpu::Recorder rec(ctx());
  const auto A = a.tensor({n}), B = b.tensor({n});
  ops::add(ctx(), rec, A, B, A);
  ops::add(ctx(), rec, A, B, A, 2.f);
  ops::add(ctx(), rec, A, A, B);  // b = 2a: reads a twice, writes b
  EXPECT_EQ(rec.barrier_count(), 2u);
  rec.submit_and_wait();
  auto want = ops::add_ref(ops::add_ref(av, bv, AddLayout::same(n), 1.f), bv, AddLayout::same(n), 2.f);
  EXPECT_LE(normalized_error(a.download(), want), 1e-6);
  want = ops::add_ref(want, want, AddLayout::same(n), 1.f);
  EXPECT_LE(normalized_error(b.download(), want), 1e-6);
  EXPECT_TRUE(a.guards_intact());
  EXPECT_TRUE(b.guards_intact());
}

using AddErrors = GpuTest;

TEST_F(AddErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "add_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded a(ctx(), arena, 24, DType::F32), b(ctx(), arena, 24, DType::F32), out(ctx(), arena, 24, DType::F32);
  gpu::Recorder rec(ctx());
  const auto A = a.tensor({2, 3, 4}), B = b.tensor({2, 3, 4}), O = out.tensor({2, 3, 4});
  expect_error(
      [&] {
        ops::add(ctx(), rec, A, b.tensor({2, 3}), O, AddLayout::per_channel(2, 3, 3));
      },
      {"add", "layout"});
  expect_error(
      [&] {
        ops::add(ctx(), rec, A, b.tensor({2, 2}), O, AddLayout::per_channel(2, 3, 4));
      },
      {"add", "b", "small"});
  expect_error([&] { ops::add(ctx(), rec, A, B, O, AddLayout{2, 3, 4, -1, 1, 0}); }, {"add", "strides"});
  expect_error([&] { ops::add(ctx(), rec, A, B, out.tensor({24})); }, {"add", "out"});
  expect_error([&] { ops::add(ctx(), rec, A, B, B); }, {"add", "out", "b"});
  // Overlapping a without being a itself: element i would be read after another invocation wrote it.
  const ops::Tensor shifted{a.slice().sub(4, 20 * 4), DType::F32, {20}};
  expect_error([&] { ops::add(ctx(), rec, a.tensor({20}), b.tensor({20}), shifted); }, {"add", "out", "a"});
  if (ctx().fp16()) {
    Guarded h(ctx(), arena, 24, DType::F16);
    expect_error([&] { ops::add(ctx(), rec, A, h.tensor({2, 3, 4}), O); }, {"add", "b", "f32"});
  }
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
