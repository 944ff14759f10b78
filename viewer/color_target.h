#pragma once
// A colour image of the device that the viewer's render pass draws into and a copy reads back (usage colour
// attachment + transfer source, optimal tiling, device-local memory where the device has it): the offscreen window's
// frame, and the tests' render targets. Move-only; the image goes before its memory.
#include <cstdint>

#include "engine/gpu/context.h"
#include "engine/gpu/handle.h"

namespace ezivk::viewer {

struct ColorTarget {
  gpu::Handle<VkDeviceMemory> memory;
  gpu::Handle<VkImage> image;  // declared last: destroyed first
};

// `what` names the image in errors.
ColorTarget make_color_target(const gpu::Context& ctx, VkFormat format, uint32_t width, uint32_t height, const char* what);

}  // namespace ezivk::viewer
