#pragma once
// What a physical device offers, read once: the facts kernels choose variants from and `ezivk devices` prints.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <vulkan/vulkan.h>

namespace ezivk::gpu {

enum class ScalarType { F16, F32, BF16, I8, U8, I32, U32, Other };
const char* scalar_type_name(ScalarType t);

// One shape VK_KHR_cooperative_matrix reports: C[M,N] (+)= A[M,K]·B[K,N].
struct CoopMatShape {
  uint32_t m = 0, n = 0, k = 0;
  ScalarType a = ScalarType::Other, b = ScalarType::Other, c = ScalarType::Other, result = ScalarType::Other;
  bool saturating = false;
  bool subgroup_scope = false;
};

struct MemoryHeap {
  uint64_t size = 0;
  bool device_local = false;
};

// One queue family: what its queues do and how many there are.
struct QueueFamily {
  VkQueueFlags flags = 0;
  uint32_t count = 0;
};

struct DeviceCaps {
  uint32_t index = 0;
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name, driver_info;
  uint32_t api_version = 0, driver_version = 0, vendor_id = 0, device_id = 0;
  std::vector<MemoryHeap> heaps;
  uint32_t subgroup_size = 0, min_subgroup_size = 0, max_subgroup_size = 0;
  bool subgroup_arithmetic = false, subgroup_shuffle = false, subgroup_ballot = false, subgroup_size_control = false;
  bool shader_float16 = false, shader_int8 = false, storage_16bit = false, storage_8bit = false;
  bool vulkan_memory_model = false;
  uint32_t max_shared_memory = 0, max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint64_t max_storage_buffer_range = 0, min_storage_offset_alignment = 0, max_allocation_size = 0;
  float timestamp_period_ns = 0;
  uint32_t timestamp_valid_bits = 0;
  bool has_coopmat_extension = false;
  std::vector<CoopMatShape> coopmat_shapes;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  std::vector<QueueFamily> queue_families;
};

// "compute+graphics+transfer x16"
std::string queue_family_name(const QueueFamily& f);

// The fragment shape the cooperative-matrix kernels are specialised for on a device: the subgroup-scope
// fp16×fp16 shape with M, N and K dividing 32 (the kernels' 32-wide subgroup tiles and K chunks), preferring
// fp32 accumulators, then the most work per fragment, then square. Shapes that accumulate in fp16 are taken
// only when asked for by name (`want`, "MxNxK" or "MxNxK/f16acc": they overflow on real activations).
// nullopt when the device reports none; an Error when `want` names a shape the device lacks.
std::optional<CoopMatShape> pick_coopmat_shape(const DeviceCaps& caps, const std::string& want = "");
std::string coopmat_shape_name(const CoopMatShape& s);  // "8x8x8 f16->f32"

const char* device_type_name(VkPhysicalDeviceType t);
std::string version_string(uint32_t v);

// Reads everything above. `instance` must have been created with Vulkan 1.1+.
DeviceCaps query_caps(VkInstance instance, VkPhysicalDevice pd, uint32_t index);
// Whether the device offers the named device extension.
bool has_extension(VkPhysicalDevice pd, const char* name);

}  // namespace ezivk::gpu
