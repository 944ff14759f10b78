#include "engine/ops/concat_channels.h"

#include <gtest/gtest.h>

#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

struct ConcatCase {
  const char* name;
  int64_t batch, c1, c2;
  std::vector<int64_t> spatial;
};
void PrintTo(const ConcatCase& c, std::ostream* os) { *os << c.name; }  // readable failure messages

class ConcatChannelsTest : public GpuTest, public ::testing::WithParamInterface<std::tuple<ConcatCase, DType>> {};

std::vector<int64_t> shape_of(int64_t b, int64_t c, const std::vector<int64_t>& spatial) {
  std::vector<int64_t> s{b, c};
  s.insert(s.end(), spatial.begin(), spatial.end());
  return s;
}

TEST_P(ConcatChannelsTest, MatchesReferenceWithGuards) {
  const auto& [c, dt] = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(dt);
  int64_t hw = 1;
  for (auto d : c.spatial) hw *= d;
  const size_t na = size_t(c.batch * c.c1 * hw), nb = size_t(c.batch * c.c2 * hw);
  gpu::Arena arena(ctx(), "concat", 8 << 20, gpu::MemoryUse::Device);
  Guarded a(ctx(), arena, na, dt), b(ctx(), arena, nb, dt), y(ctx(), arena, na + nb, dt);
  const auto av = quantize(random_floats(na, uint32_t(na + 1)), dt),
             bv = quantize(random_floats(nb, uint32_t(nb + 2), 2.f, 3.f), dt);
  a.upload(av);
  b.upload(bv);
  gpu::Recorder rec(ctx());
  ops::concat_channels(ctx(), rec, a.tensor(shape_of(c.batch, c.c1, c.spatial)),
                       b.tensor(shape_of(c.batch, c.c2, c.spatial)),
                       y.tensor(shape_of(c.batch, c.c1 + c.c2, c.spatial)));
  rec.submit_and_wait();
  EXPECT_EQ(y.download(), ops::concat_channels_ref(av, bv, c.batch, c.c1, c.c2, hw));  // a copy: exact
  EXPECT_TRUE(y.guards_intact());
  EXPECT_TRUE(a.guards_intact());
  EXPECT_TRUE(b.guards_intact());
}

const ConcatCase kCases[] = {
    {"tiny", 1, 1, 2, {1}},         {"odd", 2, 3, 4, {5, 7}},           {"rank2", 3, 5, 2, {}},
    {"aligned", 2, 64, 32, {8, 8}}, {"sd_skip", 1, 320, 320, {16, 16}},
};

INSTANTIATE_TEST_SUITE_P(Shapes, ConcatChannelsTest,
                         ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(DType::F32, DType::F16)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + dtype_name(std::get<1>(info.param));
                         });

using ConcatChannelsErrors = GpuTest;

TEST_F(ConcatChannelsErrors, NameTheOpAndTheArgument) {
  gpu::Arena arena(ctx(), "concat_errors", 1 << 20, gpu::MemoryUse::Device);
  Guarded a(ctx(), arena, 24, DType::F32), b(ctx(), arena, 24, DType::F32), y(ctx(), arena, 48, DType::F32);
  gpu::Recorder rec(ctx());
  expect_error(
      [&] {
        ops::concat_channels(ctx(), rec, a.tensor({2, 3, 4}), b.tensor({2, 4, 3}), y.tensor({2, 7, 3}));
      },
      {"concat_channels", "b"});
  expect_error(
      [&] {
        ops::concat_channels(ctx(), rec, a.tensor({2, 3, 4}), b.tensor({2, 3, 4}), y.tensor({2, 5, 4}));
      },
      {"concat_channels", "y"});
  expect_error(
      [&] {
        ops::concat_channels(ctx(), rec, a.tensor({2, 3, 4}), b.tensor({2, 3, 4}), b.tensor({2, 6, 2}));
      },
      {"concat_channels", "y"});
  expect_error([&] { ops::concat_channels(ctx(), rec, a.tensor({24}), b.tensor({24}), y.tensor({48})); },
               {"concat_channels", "a"});
  EXPECT_EQ(rec.dispatch_count(), 0u);
}

}  // namespace
}  // namespace ezivk::test
