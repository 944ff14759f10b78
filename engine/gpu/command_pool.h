#pragma once
// Command pools of the context's queue family and primary command buffers from them. Every pool allows its buffers
// to be reset one by one (each user records its buffer again and again). Command pools are externally synchronised:
// each thread that records (a recorder, the window, a test) owns its own.
#include <vulkan/vulkan.h>

#include "engine/gpu/handle.h"

namespace ezivk::gpu {

// `what` names the pool's user in errors ("the window").
Handle<VkCommandPool> make_command_pool(VkDevice dev, uint32_t family, const char* what);
// One primary command buffer, freed with its pool.
VkCommandBuffer allocate_command_buffer(VkDevice dev, VkCommandPool pool, const char* what);

}  // namespace ezivk::gpu
