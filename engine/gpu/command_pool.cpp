#include "engine/gpu/command_pool.h"

#include <string>

#include "engine/gpu/error.h"

namespace ezivk::gpu {

Handle<VkCommandPool> make_command_pool(VkDevice dev, uint32_t family, const char* what) {
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = family;
  VkCommandPool pool;
  vk_check(vkCreateCommandPool(dev, &pi, nullptr, &pool), (std::string("creating a command pool for ") + what).c_str());
  return Handle<VkCommandPool>(pool, [dev](VkCommandPool p) { vkDestroyCommandPool(dev, p, nullptr); });
}

VkCommandBuffer allocate_command_buffer(VkDevice dev, VkCommandPool pool, const char* what) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  vk_check(vkAllocateCommandBuffers(dev, &ai, &cb), (std::string("allocating a command buffer for ") + what).c_str());
  return cb;
}

}  // namespace ezivk::gpu
