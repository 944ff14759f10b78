#include "engine/gpu/device_caps.h"

#include <cstring>
#include <tuple>

#include "engine/util/error.h"

namespace ezivk::gpu {

const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::F16: return "f16";
    case ScalarType::F32: return "f32";
    case ScalarType::BF16: return "bf16";
    case ScalarType::I8: return "i8";
    case ScalarType::U8: return "u8";
    case ScalarType::I32: return "i32";
    case ScalarType::U32: return "u32";
    default: return "other";
  }
}

static ScalarType from_component_type(VkComponentTypeKHR t) {
  switch (t) {
    case VK_COMPONENT_TYPE_FLOAT16_KHR: return ScalarType::F16;
    case VK_COMPONENT_TYPE_FLOAT32_KHR: return ScalarType::F32;
    case VK_COMPONENT_TYPE_SINT8_KHR: return ScalarType::I8;
    case VK_COMPONENT_TYPE_UINT8_KHR: return ScalarType::U8;
    case VK_COMPONENT_TYPE_SINT32_KHR: return ScalarType::I32;
    case VK_COMPONENT_TYPE_UINT32_KHR: return ScalarType::U32;
    default:
#ifdef VK_COMPONENT_TYPE_BFLOAT16_KHR
      if (t == VK_COMPONENT_TYPE_BFLOAT16_KHR) return ScalarType::BF16;
#endif
      return ScalarType::Other;
  }
}

std::string queue_family_name(const QueueFamily& f) {
  std::string s;
  const auto add = [&](VkQueueFlags bit, const char* name) {
    if (!(f.flags & bit)) return;
    if (!s.empty()) s += '+';
    s += name;
  };
  add(VK_QUEUE_COMPUTE_BIT, "compute");
  add(VK_QUEUE_GRAPHICS_BIT, "graphics");
  add(VK_QUEUE_TRANSFER_BIT, "transfer");
  add(VK_QUEUE_SPARSE_BINDING_BIT, "sparse");
  if (s.empty()) s = "other";
  return s + " x" + std::to_string(f.count);
}

const char* device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string coopmat_shape_name(const CoopMatShape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) + " f16->" +
         (s.result == ScalarType::F16 ? "f16" : "f32");
}

std::optional<CoopMatShape> pick_coopmat_shape(const DeviceCaps& caps, const std::string& want) {
  std::optional<CoopMatShape> best;
  auto rank = [](const CoopMatShape& s) {
    return std::tuple(s.result == ScalarType::F32, s.m * s.n * s.k, s.m == s.n);
  };
  for (const auto& s : caps.coopmat_shapes) {
    const bool acc32 = s.c == ScalarType::F32 && s.result == ScalarType::F32;
    const bool acc16 = s.c == ScalarType::F16 && s.result == ScalarType::F16;
    if (!s.subgroup_scope || s.saturating || s.a != ScalarType::F16 || s.b != ScalarType::F16 || !(acc32 || acc16)) continue;
    if (s.m == 0 || s.n == 0 || s.k == 0 || 32 % s.m || 32 % s.n || 32 % s.k) continue;
    if (!want.empty()) {
      const std::string name = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
      if (want == name + (acc16 ? "/f16acc" : "")) return s;
      continue;
    }
    if (acc16) continue;
    if (!best || rank(s) > rank(*best)) best = s;
  }
  if (!want.empty()) {
    std::string offered;
    for (const auto& s : caps.coopmat_shapes)
      if (s.subgroup_scope && s.a == ScalarType::F16 && s.b == ScalarType::F16)
        offered += (offered.empty() ? "" : ", ") + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                   (s.result == ScalarType::F16 ? "/f16acc" : "");
    fail("cooperative-matrix shape '" + want + "' (EZIVK_COOPMAT_SHAPE) is not one this device's kernels can use; '" + caps.name +
         "' offers: " + (offered.empty() ? "none" : offered) + " (M, N and K must divide 32)");
  }
  return best;
}

bool has_extension(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

DeviceCaps query_caps(VkInstance instance, VkPhysicalDevice pd, uint32_t index) {
  DeviceCaps c;
  c.index = index;

  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sizectl{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  subgroup.pNext = &driver;
  driver.pNext = &maint3;
  VkPhysicalDeviceProperties basic;
  vkGetPhysicalDeviceProperties(pd, &basic);
  const bool v13 = basic.apiVersion >= VK_API_VERSION_1_3;
  c.subgroup_size_control = v13 || has_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  if (c.subgroup_size_control) maint3.pNext = &sizectl;
  vkGetPhysicalDeviceProperties2(pd, &props);
  const auto& p = props.properties;

  c.name = p.deviceName;
  c.type = p.deviceType;
  c.api_version = p.apiVersion;
  c.driver_version = p.driverVersion;
  c.vendor_id = p.vendorID;
  c.device_id = p.deviceID;
  c.driver_name = driver.driverName;
  c.driver_info = driver.driverInfo;
  c.subgroup_size = subgroup.subgroupSize;
  c.min_subgroup_size = c.subgroup_size_control ? sizectl.minSubgroupSize : subgroup.subgroupSize;
  c.max_subgroup_size = c.subgroup_size_control ? sizectl.maxSubgroupSize : subgroup.subgroupSize;
  c.subgroup_arithmetic = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                          (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  c.subgroup_shuffle = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  c.subgroup_ballot = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT) != 0;  // subgroupBroadcast
  c.max_shared_memory = p.limits.maxComputeSharedMemorySize;
  c.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    c.max_workgroup_size[i] = p.limits.maxComputeWorkGroupSize[i];
    c.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  }
  c.max_storage_buffer_range = p.limits.maxStorageBufferRange;
  c.min_storage_offset_alignment = p.limits.minStorageBufferOffsetAlignment;
  c.max_allocation_size = maint3.maxMemoryAllocationSize;
  c.timestamp_period_ns = p.limits.timestampPeriod;
  std::memcpy(c.pipeline_cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
  for (const auto& q : qf) c.queue_families.push_back({q.queueFlags, q.queueCount});
  for (const auto& q : qf)
    if (q.queueFlags & VK_QUEUE_COMPUTE_BIT) {
      c.timestamp_valid_bits = q.timestampValidBits;
      break;
    }

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    c.heaps.push_back({mem.memoryHeaps[i].size, (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});

  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDeviceVulkanMemoryModelFeatures vmm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
  VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  feats.pNext = &s16;
  s16.pNext = &f16;
  f16.pNext = &s8;
  s8.pNext = &vmm;
  vkGetPhysicalDeviceFeatures2(pd, &feats);
  c.storage_16bit = s16.storageBuffer16BitAccess;
  c.shader_float16 = f16.shaderFloat16;
  c.shader_int8 = f16.shaderInt8;
  c.storage_8bit = s8.storageBuffer8BitAccess;
  c.vulkan_memory_model = vmm.vulkanMemoryModel;

  c.has_coopmat_extension = has_extension(pd, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  if (c.has_coopmat_extension) {
    auto fn = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR>(
        vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR"));
    if (fn) {
      uint32_t n = 0;
      fn(pd, &n, nullptr);
      std::vector<VkCooperativeMatrixPropertiesKHR> shapes(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR});
      fn(pd, &n, shapes.data());
      for (const auto& s : shapes)
        c.coopmat_shapes.push_back({s.MSize, s.NSize, s.KSize, from_component_type(s.AType), from_component_type(s.BType),
                                    from_component_type(s.CType), from_component_type(s.ResultType),
                                    s.saturatingAccumulation == VK_TRUE, s.scope == VK_SCOPE_SUBGROUP_KHR});
    }
  }
  return c;
}

}  // namespace ezivk::gpu
