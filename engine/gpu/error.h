#pragma once
// Vulkan result codes as Errors (engine/util/error.h has Error and fail for host-only code).
#include <vulkan/vulkan.h>

#include "engine/util/error.h"

namespace ezivk {

const char* vk_result_name(VkResult r);

// Throws an Error naming `what` and the result when r is not VK_SUCCESS. Device loss gets its own wording
// because it is the one a user sees after a driver reset or a kernel that ran away.
void vk_check(VkResult r, const char* what);

}  // namespace ezivk
