#pragma once
// Just enough SPIR-V reflection to build a pipeline's layout from the shader itself: which storage-buffer
// bindings set 0 uses, and how many bytes of push constants it declares.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ezivk::gpu {

struct ShaderInterface {
  std::vector<uint32_t> storage_bindings;  // sorted, set 0
  uint32_t push_constant_bytes = 0;
};

// Throws Error (naming `name`) on malformed SPIR-V or on interfaces the engine does not use
// (other descriptor sets, uniform buffers, images).
ShaderInterface reflect(std::span<const uint32_t> words, const std::string& name);

}  // namespace ezivk::gpu
