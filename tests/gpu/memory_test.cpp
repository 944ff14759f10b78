#include <gtest/gtest.h>

#include "engine/util/error.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using MemoryTest = GpuTest;

TEST_F(MemoryTest, ArenaAlignsAndReusesAfterReset) {
  gpu::Arena a(ctx(), "acts", 1 << 20, gpu::MemoryUse::Device);
  auto s1 = a.alloc(3);
  auto s2 = a.alloc(1000);
  EXPECT_EQ(s1.offset % ctx().storage_alignment(), 0u);
  EXPECT_EQ(s2.offset % ctx().storage_alignment(), 0u);
  EXPECT_FALSE(s1.overlaps(s2));
  const auto m = a.mark();
  auto s3 = a.alloc(5000);
  a.reset(m);
  auto s4 = a.alloc(5000);
  EXPECT_EQ(s3.offset, s4.offset);
  EXPECT_GE(a.peak(), s4.offset + 5000);
  a.reset();
  EXPECT_EQ(a.used(), 0u);
}

TEST_F(MemoryTest, ArenaOutOfSpaceNamesTheArena) {
  gpu::Arena a(ctx(), "tiny-arena", 4096, gpu::MemoryUse::Device);
  a.alloc(4000);
  try {
    a.alloc(4000);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("tiny-arena"), std::string::npos) << m;
    EXPECT_NE(m.find("out of space"), std::string::npos) << m;
  }
}

TEST_F(MemoryTest, ImpossibleAllocationIsAClearError) {
  const uint64_t huge = 1ull << 50;  // 1 PiB
  try {
    gpu::Arena a(ctx(), "weights", huge, gpu::MemoryUse::Device);
    FAIL() << "a 1 PiB allocation cannot succeed";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("weights"), std::string::npos) << m;
    EXPECT_NE(m.find("1048576.00 GiB"), std::string::npos) << m;  // the size asked
    // ...and the limit it ran into (heap size or the per-allocation maximum).
    EXPECT_TRUE(m.find("holds only") != std::string::npos || m.find("at most") != std::string::npos) << m;
  }
}

void round_trip(gpu::Context& c, size_t n, uint32_t seed) {
  gpu::Arena a(c, "rt", 8 << 20, gpu::MemoryUse::Device);
  Guarded g(c, a, n, DType::F32);
  auto v = random_floats(n, seed);
  g.upload(v);
  EXPECT_EQ(g.download(), v);
  EXPECT_TRUE(g.guards_intact());
}

TEST_F(MemoryTest, UploadDownloadRoundTripDirect) {
  for (size_t n : {1u, 3u, 1000u, 262147u}) round_trip(ctx(), n, uint32_t(n));
}

TEST_F(MemoryTest, UploadDownloadRoundTripThroughStaging) {
  gpu::ContextOptions o;
  o.validation = true;
  o.sync_validation = true;
  o.staging_only = true;
  o.cache_dir = "-";
  gpu::Context c(o);
  for (size_t n : {1u, 77u, 262147u}) round_trip(c, n, uint32_t(n) + 9);
  gpu::Arena a(c, "check", 4096, gpu::MemoryUse::Device);
  EXPECT_FALSE(a.host_visible());
  for (const auto& m : c.validation_messages()) ADD_FAILURE() << m;
}

TEST_F(MemoryTest, SliceSubRangeIsBoundsChecked) {
  gpu::Arena a(ctx(), "sub", 4096, gpu::MemoryUse::Device);
  auto s = a.alloc(256);
  EXPECT_EQ(s.sub(16, 32).offset, s.offset + 16);
  EXPECT_THROW(s.sub(250, 16), Error);
  EXPECT_THROW(ctx().upload(s, std::vector<float>(100).data(), 400), Error);
}

}  // namespace
}  // namespace ezivk::test
