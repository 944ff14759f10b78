#pragma once
// Which queue family the context takes and how many of its queues: generation's queue, and for a caller that draws
// (the viewer) a second queue of the same family where the family has one, so its frames never queue behind
// generation's work. A device whose fitting family has one queue (lavapipe, many AMD graphics families) gets the one
// queue shared; the caller then keeps its frames responsive another way (the recorders' pieces).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/gpu/device_caps.h"

namespace ezivk::gpu {

struct QueuePlan {
  uint32_t family = 0;
  uint32_t count = 1;  // 2: the second queue is the caller's (Context::ui_queue)
};

// `ok(i)`: the caller's condition on family i besides compute (presentation), none when empty. Among the families
// that compute and meet it, the first with two queues when `second_queue` is wanted, else the first. nullopt: none.
std::optional<QueuePlan> plan_queues(const std::vector<QueueFamily>& families, const std::function<bool(uint32_t)>& ok,
                                     bool second_queue);

}  // namespace ezivk::gpu
