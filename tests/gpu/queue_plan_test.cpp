// Which family and how many queues the context takes (engine/gpu/queue_plan.h), on the queue families real drivers
// report: a second queue for the window only from a family that has one, never at the cost of the caller's condition.
#include <gtest/gtest.h>

#include "engine/gpu/queue_plan.h"

namespace ezivk::test {
namespace {

using gpu::QueueFamily;
constexpr VkQueueFlags kAll = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;
constexpr VkQueueFlags kCompute = VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;

bool graphics(const std::vector<QueueFamily>& f, uint32_t i) { return f[i].flags & VK_QUEUE_GRAPHICS_BIT; }

TEST(QueuePlan, OneQueueDeviceSharesIt) {  // lavapipe
  const std::vector<QueueFamily> f = {{kAll | VK_QUEUE_SPARSE_BINDING_BIT, 1}};
  const auto p = gpu::plan_queues(f, {}, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, 0u);
  EXPECT_EQ(p->count, 1u);
}

TEST(QueuePlan, SecondQueueOfTheGraphicsFamilyWhereItHasOne) {  // NVIDIA: 16 graphics queues, then transfer, compute
  const std::vector<QueueFamily> f = {{kAll, 16}, {VK_QUEUE_TRANSFER_BIT, 2}, {kCompute, 8}};
  const auto ok = [&](uint32_t i) { return graphics(f, i); };
  const auto p = gpu::plan_queues(f, ok, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, 0u);
  EXPECT_EQ(p->count, 2u);
  const auto one = gpu::plan_queues(f, ok, false);  // not asked for: one queue
  ASSERT_TRUE(one);
  EXPECT_EQ(one->count, 1u);
}

TEST(QueuePlan, CallersConditionBeforeASecondQueue) {  // AMD: one graphics queue, four compute-only queues
  const std::vector<QueueFamily> f = {{kAll, 1}, {kCompute, 4}, {VK_QUEUE_TRANSFER_BIT, 2}};
  const auto p = gpu::plan_queues(f, [&](uint32_t i) { return graphics(f, i); }, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, 0u);  // the compute family cannot present: the graphics queue, shared
  EXPECT_EQ(p->count, 1u);
  const auto compute_only = gpu::plan_queues(f, {}, true);  // no condition (no window): the first fitting family
  ASSERT_TRUE(compute_only);
  EXPECT_EQ(compute_only->family, 1u);
  EXPECT_EQ(compute_only->count, 2u);
}

TEST(QueuePlan, PrefersALaterFamilyWithTwoQueuesOverAnEarlierWithOne) {
  const std::vector<QueueFamily> f = {{kAll, 1}, {VK_QUEUE_TRANSFER_BIT, 4}, {kAll, 2}};
  const auto p = gpu::plan_queues(f, {}, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, 2u);
  EXPECT_EQ(p->count, 2u);
  const auto one = gpu::plan_queues(f, {}, false);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->family, 0u);
}

TEST(QueuePlan, NoneWhenNoFamilyComputesAndMeetsTheCondition) {
  const std::vector<QueueFamily> f = {{VK_QUEUE_TRANSFER_BIT, 2}, {kCompute, 0}, {kCompute, 4}};
  EXPECT_FALSE(gpu::plan_queues(f, [](uint32_t) { return false; }, true));
  EXPECT_FALSE(gpu::plan_queues({{VK_QUEUE_TRANSFER_BIT, 2}, {kCompute, 0}}, {}, false));
  const auto p = gpu::plan_queues(f, {}, false);  // a family reporting no queues is skipped
  ASSERT_TRUE(p);
  EXPECT_EQ(p->family, 2u);
}

}  // namespace
}  // namespace ezivk::test
