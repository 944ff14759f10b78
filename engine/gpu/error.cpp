#include "engine/gpu/error.h"

namespace ezivk {

const char* vk_result_name(VkResult r) {
  switch (r) {
#define EZIVK_CASE(x) \
  case x:             \
    return #x;
    EZIVK_CASE(VK_SUCCESS)
    EZIVK_CASE(VK_NOT_READY)
    EZIVK_CASE(VK_TIMEOUT)
    EZIVK_CASE(VK_INCOMPLETE)
    EZIVK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    EZIVK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    EZIVK_CASE(VK_ERROR_INITIALIZATION_FAILED)
    EZIVK_CASE(VK_ERROR_DEVICE_LOST)
    EZIVK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    EZIVK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    EZIVK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    EZIVK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    EZIVK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    EZIVK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    EZIVK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    EZIVK_CASE(VK_ERROR_FRAGMENTED_POOL)
    EZIVK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    EZIVK_CASE(VK_ERROR_INVALID_SHADER_NV)
    EZIVK_CASE(VK_PIPELINE_COMPILE_REQUIRED)
#undef EZIVK_CASE
    default:
      return "VkResult(unknown)";
  }
}

void vk_check(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  if (r == VK_ERROR_DEVICE_LOST)
    fail(std::string(what) + " failed: the Vulkan device was lost (VK_ERROR_DEVICE_LOST); the driver reset the GPU or a kernel faulted");
  fail(std::string(what) + " failed: " + vk_result_name(r) + " (" + std::to_string(static_cast<int>(r)) + ")");
}

}  // namespace ezivk
