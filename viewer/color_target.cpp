#include "viewer/color_target.h"

#include <string>

#include "engine/gpu/error.h"
#include "engine/util/error.h"

namespace ezivk::viewer {

ColorTarget make_color_target(const gpu::Context& ctx, VkFormat format, uint32_t width, uint32_t height, const char* what) {
  VkDevice dev = ctx.device();
  ColorTarget t;
  VkImageCreateInfo ii{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
  ii.imageType = VK_IMAGE_TYPE_2D;
  ii.format = format;
  ii.extent = {width, height, 1};
  ii.mipLevels = ii.arrayLayers = 1;
  ii.samples = VK_SAMPLE_COUNT_1_BIT;
  ii.tiling = VK_IMAGE_TILING_OPTIMAL;
  ii.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  VkImage image;
  vk_check(vkCreateImage(dev, &ii, nullptr, &image), (std::string("creating ") + what).c_str());
  t.image = gpu::Handle<VkImage>(image, [dev](VkImage i) { vkDestroyImage(dev, i, nullptr); });
  VkMemoryRequirements req;
  vkGetImageMemoryRequirements(dev, image, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(ctx.physical(), &mp);
  uint32_t type = UINT32_MAX;
  for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; ++i)
    if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) type = i;
  for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; ++i)
    if (req.memoryTypeBits & (1u << i)) type = i;
  if (type == UINT32_MAX) fail(std::string("no memory type of the device holds ") + what);
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkDeviceMemory memory;
  vk_check(vkAllocateMemory(dev, &ai, nullptr, &memory), (std::string("allocating ") + what).c_str());
  t.memory = gpu::Handle<VkDeviceMemory>(memory, [dev](VkDeviceMemory m) { vkFreeMemory(dev, m, nullptr); });
  vk_check(vkBindImageMemory(dev, image, memory, 0), (std::string("binding ") + what).c_str());
  return t;
}

}  // namespace ezivk::viewer
