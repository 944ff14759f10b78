#include "engine/gpu/spirv_reflect.h"

#include <algorithm>
#include <map>

#include "engine/util/error.h"

namespace ezivk::gpu {
namespace {

// Opcodes and enums from the SPIR-V specification (unified1).
enum : uint32_t {
  OpTypeInt = 21, OpTypeFloat = 22, OpTypeVector = 23, OpTypeMatrix = 24,
  OpTypeArray = 28, OpTypeStruct = 30, OpTypePointer = 32, OpConstant = 43, OpVariable = 59,
  OpDecorate = 71, OpMemberDecorate = 72,
  DecorationArrayStride = 6, DecorationBinding = 33, DecorationDescriptorSet = 34, DecorationOffset = 35,
  StorageUniformConstant = 0, StorageUniform = 2, StoragePushConstant = 9, StorageStorageBuffer = 12,
};

struct Type {
  uint32_t op = 0;
  std::vector<uint32_t> args;
};

}  // namespace

ShaderInterface reflect(std::span<const uint32_t> w, const std::string& name) {
  auto bad = [&](const std::string& why) { fail("shader '" + name + "': " + why); };
  if (w.size() < 5 || w[0] != 0x07230203u) bad("not a SPIR-V module (bad magic number)");

  std::map<uint32_t, Type> types;
  std::map<uint32_t, uint32_t> constants;
  std::map<uint32_t, uint32_t> binding, set, array_stride;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> member_offset;
  struct Var { uint32_t pointer_type, storage; };
  std::map<uint32_t, Var> vars;
  ShaderInterface out;

  for (size_t i = 5; i < w.size();) {
    const uint32_t count = w[i] >> 16, op = w[i] & 0xffffu;
    if (count == 0 || i + count > w.size()) bad("truncated instruction at word " + std::to_string(i));
    const uint32_t* a = &w[i + 1];
    const uint32_t n = count - 1;
    switch (op) {
      case OpTypeInt: case OpTypeFloat: case OpTypeVector: case OpTypeMatrix:
      case OpTypeArray: case OpTypeStruct: case OpTypePointer:
        if (n >= 1) types[a[0]] = {op, std::vector<uint32_t>(a + 1, a + n)};
        break;
      case OpConstant:
        if (n >= 3) constants[a[1]] = a[2];
        break;
      case OpVariable:
        if (n >= 3) vars[a[1]] = {a[0], a[2]};
        break;
      case OpDecorate:
        if (n >= 3 && a[1] == DecorationBinding) binding[a[0]] = a[2];
        if (n >= 3 && a[1] == DecorationDescriptorSet) set[a[0]] = a[2];
        if (n >= 3 && a[1] == DecorationArrayStride) array_stride[a[0]] = a[2];
        break;
      case OpMemberDecorate:
        if (n >= 4 && a[2] == DecorationOffset) member_offset[{a[0], a[1]}] = a[3];
        break;
      default:
        break;
    }
    i += count;
  }

  // Byte size of a push-constant member type (scalars, vectors, arrays of them).
  auto size_of = [&](auto&& self, uint32_t id) -> uint32_t {
    auto it = types.find(id);
    if (it == types.end()) bad("push constant member of unknown type %" + std::to_string(id));
    const Type& t = it->second;
    switch (t.op) {
      case OpTypeInt: case OpTypeFloat: return t.args.at(0) / 8;
      case OpTypeVector: return self(self, t.args.at(0)) * t.args.at(1);
      case OpTypeArray: {
        auto c = constants.find(t.args.at(1));
        if (c == constants.end()) bad("push constant array with a specialization-constant length");
        auto s = array_stride.find(id);
        return c->second * (s != array_stride.end() ? s->second : self(self, t.args.at(0)));
      }
      default: bad("push constant member of an unsupported type"); return 0;
    }
  };

  for (const auto& [id, v] : vars) {
    if (v.storage == StorageStorageBuffer || v.storage == StorageUniform || v.storage == StorageUniformConstant) {
      if (v.storage != StorageStorageBuffer) bad("uses a uniform buffer or image; the engine binds storage buffers only");
      if (set.count(id) && set[id] != 0) bad("uses descriptor set " + std::to_string(set[id]) + "; only set 0 is bound");
      if (!binding.count(id)) bad("storage buffer without a binding decoration");
      out.storage_bindings.push_back(binding[id]);
    } else if (v.storage == StoragePushConstant) {
      const Type& ptr = types.at(v.pointer_type);
      const uint32_t struct_id = ptr.args.at(1);
      const Type& st = types.at(struct_id);
      uint32_t end = 0;
      for (uint32_t m = 0; m < st.args.size(); ++m) {
        auto off = member_offset.find({struct_id, m});
        if (off == member_offset.end()) bad("push constant member without an offset");
        end = std::max(end, off->second + size_of(size_of, st.args[m]));
      }
      out.push_constant_bytes = (end + 3) & ~3u;
    }
  }
  std::sort(out.storage_bindings.begin(), out.storage_bindings.end());
  if (std::adjacent_find(out.storage_bindings.begin(), out.storage_bindings.end()) != out.storage_bindings.end())
    bad("two storage buffers share a binding");
  return out;
}

}  // namespace ezivk::gpu
