#include "engine/gpu/one_shot.h"

#include <string>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/error.h"
#include "engine/gpu/handle.h"

namespace ezivk::gpu {

void run_one_shot(const Context& ctx, VkCommandPool pool, const std::function<void(VkCommandBuffer)>& record,
                  const char* what) {
  VkDevice dev = ctx.device();
  VkCommandBuffer cb = allocate_command_buffer(dev, pool, what);
  Handle<VkCommandBuffer> owner(cb, [dev, pool](VkCommandBuffer c) { vkFreeCommandBuffers(dev, pool, 1, &c); });
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(cb, &bi), (std::string("recording ") + what).c_str());
  record(cb);
  vk_check(vkEndCommandBuffer(cb), (std::string("recording ") + what).c_str());
  ctx.submit_and_wait(cb, ctx.submit_timeout_s());
}

}  // namespace ezivk::gpu
