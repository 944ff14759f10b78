#include "engine/gpu/queue_plan.h"

namespace ezivk::gpu {

std::optional<QueuePlan> plan_queues(const std::vector<QueueFamily>& families, const std::function<bool(uint32_t)>& ok,
                                     bool second_queue) {
  std::optional<QueuePlan> first;
  for (uint32_t i = 0; i < families.size(); ++i) {
    const QueueFamily& f = families[i];
    if (!(f.flags & VK_QUEUE_COMPUTE_BIT) || f.count == 0 || (ok && !ok(i))) continue;
    if (!second_queue) return QueuePlan{i, 1};
    if (f.count >= 2) return QueuePlan{i, 2};
    if (!first) first = QueuePlan{i, 1};
  }
  return first;
}

}  // namespace ezivk::gpu
