#pragma once
// Errors: every failure becomes one ezivk::Error with a sentence that names what failed and why.
#include <stdexcept>
#include <string>
#include <vulkan/vulkan.h>

namespace ezivk {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& message);

const char* vk_result_name(VkResult r);

// Throws an Error naming `what` and the result when r is not VK_SUCCESS. Device loss gets its own wording
// because it is the one a user sees after a driver reset or a kernel that ran away.
void vk_check(VkResult r, const char* what);

}  // namespace ezivk
