#pragma once
// One compute pipeline: layout derived from the shader's SPIR-V (storage buffers at set 0, push constants),
// specialization constants for workgroup and tile sizes.
#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include <vulkan/vulkan.h>

#include "engine/gpu/handle.h"
#include "engine/gpu/spirv_reflect.h"

namespace ezivk::gpu {

class Context;

class Pipeline {
 public:
  Pipeline(Context& ctx, VkPipelineCache cache, const std::string& shader, std::span<const uint32_t> spec);

  VkPipeline pipeline() const { return pipeline_.get(); }
  VkPipelineLayout layout() const { return layout_.get(); }
  VkDescriptorSetLayout set_layout() const { return set_layout_.get(); }
  const ShaderInterface& interface() const { return iface_; }
  const std::string& name() const { return name_; }
  // One past the highest binding: how many slices a dispatch must bind.
  uint32_t binding_count() const { return iface_.storage_bindings.empty() ? 0 : iface_.storage_bindings.back() + 1; }

 private:
  std::string name_;
  ShaderInterface iface_;
  Handle<VkDescriptorSetLayout> set_layout_;
  Handle<VkPipelineLayout> layout_;
  Handle<VkPipeline> pipeline_;
};

}  // namespace ezivk::gpu
