// The viewer's preview ring (viewer/preview_ring.h) hands a slot out again only once the frames that may draw its
// old content are done: on a frame timeline signalled here from the host, a marked slot's next() blocks until the
// marked frame's number is reached and no sooner, unmarked slots and marks on an old ring never wait, close() frees a
// waiting run, and a frame that does not finish moves the run to a fresh ring (a few times) instead of holding it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "engine/gpu/error.h"
#include "support/gpu_fixture.h"
#include "viewer/preview_ring.h"

namespace ezivk::test {
namespace {

using namespace std::chrono_literals;

class Timeline {
 public:
  explicit Timeline(gpu::Context& ctx) : dev_(ctx.device()) {
    VkSemaphoreTypeCreateInfo ti{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
    ti.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
    VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    si.pNext = &ti;
    vk_check(vkCreateSemaphore(dev_, &si, nullptr, &s_), "creating a timeline");
  }
  ~Timeline() { vkDestroySemaphore(dev_, s_, nullptr); }
  VkSemaphore get() const { return s_; }
  void signal(uint64_t v) {
    VkSemaphoreSignalInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
    si.semaphore = s_;
    si.value = v;
    vk_check(vkSignalSemaphore(dev_, &si), "signalling a timeline");
  }

 private:
  VkDevice dev_;
  VkSemaphore s_ = VK_NULL_HANDLE;
};

bool same(const gpu::Slice& a, const gpu::Slice& b) { return a.buffer == b.buffer && a.offset == b.offset && a.size == b.size; }

class PreviewRingTest : public GpuTest {};

TEST_F(PreviewRingTest, AMarkedSlotWaitsForItsFrameAndNoLonger) {
  viewer::PreviewRing ring(ctx(), 3);
  Timeline frames(ctx());
  ring.follow_frames(frames.get());
  const gpu::Slice a = ring.next(1000), b = ring.next(1000), c = ring.next(1000);
  EXPECT_FALSE(a.overlaps(b) || b.overlaps(c) || a.overlaps(c));
  ring.taken(a, 5);
  ring.taken(a, 3);  // an older mark does not lower it
  ring.taken(c, 2);
  auto again = std::async(std::launch::async, [&] { return ring.next(1000); });
  EXPECT_EQ(again.wait_for(300ms), std::future_status::timeout);  // frame 5 has not finished
  frames.signal(4);
  EXPECT_EQ(again.wait_for(300ms), std::future_status::timeout);
  frames.signal(5);
  ASSERT_EQ(again.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(same(again.get(), a));
  // b was never marked: no wait; c's frame 2 is done already.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(same(ring.next(1000), b));
  EXPECT_TRUE(same(ring.next(1000), c));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  // A mark is used once: the slot handed out again is unmarked until the UI takes it again.
  ring.taken(b, 9);
  EXPECT_TRUE(same(ring.next(1000), a));
}

TEST_F(PreviewRingTest, MarksOnAnOutgrownRingAreIgnored) {
  viewer::PreviewRing ring(ctx(), 2);
  Timeline frames(ctx());
  ring.follow_frames(frames.get());
  const gpu::Slice old = ring.next(256);
  const gpu::Slice big = ring.next(4096);  // a new ring; the old one stays alive for frames still drawing it
  EXPECT_NE(old.buffer, big.buffer);
  ring.taken(old, 50);  // a frame drawing the old ring: nothing of the new ring waits for it
  auto next = std::async(std::launch::async, [&] { return ring.next(4096); });
  ASSERT_EQ(next.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(next.get().buffer, big.buffer);
}

TEST_F(PreviewRingTest, CloseFreesARunWaitingForAFrameThatWillNotCome) {
  viewer::PreviewRing ring(ctx(), 1);
  Timeline frames(ctx());
  ring.follow_frames(frames.get());
  const gpu::Slice a = ring.next(64);
  ring.taken(a, 7);
  auto waiting = std::async(std::launch::async, [&] { return ring.next(64); });
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout);
  ring.close();
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(same(waiting.get(), a));
}

// A window whose frame does not finish (hidden, presentation blocked) does not hold the run: after stall_s its
// previews move to a fresh ring, the slot that frame draws untouched; past max_stall_rings the run waits again.
TEST_F(PreviewRingTest, AStalledFrameMovesTheRunToAFreshRingAFewTimesThenItWaits) {
  viewer::PreviewRing ring(ctx(), 1, 0.3, 1);
  Timeline frames(ctx());
  ring.follow_frames(frames.get());
  const gpu::Slice a = ring.next(64);
  ring.taken(a, 3);
  frames.signal(2);
  const auto t0 = std::chrono::steady_clock::now();
  const gpu::Slice b = ring.next(64);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(b.buffer, a.buffer);  // a fresh ring: frame 3 may still read a
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);
  ring.taken(b, 4);
  auto blocked = std::async(std::launch::async, [&] { return ring.next(64); });
  EXPECT_EQ(blocked.wait_for(800ms), std::future_status::timeout);  // no second fresh ring: it waits for frame 4
  frames.signal(4);
  ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(same(blocked.get(), b));
}

}  // namespace
}  // namespace ezivk::test
