#pragma once
// One-off GPU work outside a Recorder (staged transfers, a window's font upload, test render targets): a primary
// command buffer from the caller's pool, recorded for one submit, submitted, waited for with the context's timeout,
// and freed, also when recording or the submit throws.
#include <functional>

#include "engine/gpu/context.h"

namespace ezivk::gpu {

// `pool` belongs to the caller, who keeps other threads off it for the call. `what` names the work in errors.
void run_one_shot(const Context& ctx, VkCommandPool pool, const std::function<void(VkCommandBuffer)>& record,
                  const char* what);

}  // namespace ezivk::gpu
