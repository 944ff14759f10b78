#pragma once
// The one render pass the viewer draws with: a single colour attachment cleared at the start, in `final_layout` at
// the end (present for the window, transfer source for offscreen tests), with the dependencies both need.
#include <vulkan/vulkan.h>

#include "engine/gpu/handle.h"

namespace ezivk::viewer {

gpu::Handle<VkRenderPass> make_color_pass(VkDevice dev, VkFormat format, VkImageLayout final_layout);

}  // namespace ezivk::viewer
