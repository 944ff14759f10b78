#include "engine/gpu/pipeline.h"

#include "engine/gpu/context.h"
#include "engine/gpu/error.h"
#include "engine/gpu/shaders.h"

namespace ezivk::gpu {

const ShaderBinary& find_shader(std::string_view name) {
  for (const auto& s : embedded_shaders())
    if (name == s.name) return s;
  fail("no embedded shader named '" + std::string(name) + "' (was it added under shaders/ and the build rerun?)");
}

Pipeline::Pipeline(Context& ctx, VkPipelineCache cache, const std::string& shader, std::span<const uint32_t> spec)
    : name_(shader) {
  VkDevice dev = ctx.device();
  const ShaderBinary& bin = find_shader(shader);
  iface_ = reflect({bin.words, bin.word_count}, shader);

  std::vector<VkDescriptorSetLayoutBinding> binds;
  for (uint32_t b : iface_.storage_bindings)
    binds.push_back({b, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr});
  VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dl.bindingCount = uint32_t(binds.size());
  dl.pBindings = binds.data();
  VkDescriptorSetLayout sl;
  vk_check(vkCreateDescriptorSetLayout(dev, &dl, nullptr, &sl), ("descriptor layout for " + shader).c_str());
  set_layout_ = Handle<VkDescriptorSetLayout>(sl, [dev](VkDescriptorSetLayout h) { vkDestroyDescriptorSetLayout(dev, h, nullptr); });

  VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, iface_.push_constant_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &sl;
  pl.pushConstantRangeCount = iface_.push_constant_bytes ? 1 : 0;
  pl.pPushConstantRanges = &pr;
  VkPipelineLayout lay;
  vk_check(vkCreatePipelineLayout(dev, &pl, nullptr, &lay), ("pipeline layout for " + shader).c_str());
  layout_ = Handle<VkPipelineLayout>(lay, [dev](VkPipelineLayout h) { vkDestroyPipelineLayout(dev, h, nullptr); });

  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = bin.word_count * 4;
  mi.pCode = bin.words;
  VkShaderModule mod;
  vk_check(vkCreateShaderModule(dev, &mi, nullptr, &mod), ("shader module " + shader).c_str());
  Handle<VkShaderModule> module(mod, [dev](VkShaderModule h) { vkDestroyShaderModule(dev, h, nullptr); });

  std::vector<VkSpecializationMapEntry> entries;
  for (uint32_t i = 0; i < spec.size(); ++i) entries.push_back({i, i * 4u, 4});
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.size() * 4, spec.data()};

  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = mod;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  ci.layout = lay;
  VkPipeline p;
  vk_check(vkCreateComputePipelines(dev, cache, 1, &ci, nullptr, &p), ("compute pipeline " + shader).c_str());
  pipeline_ = Handle<VkPipeline>(p, [dev](VkPipeline h) { vkDestroyPipeline(dev, h, nullptr); });
}

}  // namespace ezivk::gpu
