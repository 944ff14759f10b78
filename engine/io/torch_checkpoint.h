#pragma once
// Reading a torch.save checkpoint (a state dict of tensors, e.g. pytorch_model.bin) without executing it.
// The container is a ZIP (engine/io/zip_archive.h): <archive>/data.pkl, the pickle of the dict, and
// <archive>/data/<key>, one raw storage per key. The pickle is interpreted by a small machine that knows only
// what torch.save writes for a dict of tensors: protocol 2 (and 4's framing) opcodes for containers, strings and
// numbers, persistent ids naming storages, and REDUCE of an allow-list of callables:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
// and the storage classes torch.{Float,Half,BFloat16,Double}Storage. Any other global, a REDUCE of anything else,
// or a storage that is not in the archive is refused with an Error naming it; nothing is ever called or imported.
// Tensors are views (offset, sizes, strides) into storages that stay in the mapped file: nothing is copied until
// a tensor is converted to float32.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/io/zip_archive.h"

namespace ezivk::io {

enum class TorchDType { F32, F16, BF16, F64 };
const char* torch_dtype_name(TorchDType t);  // "F32", ... (safetensors' names)
size_t torch_dtype_bytes(TorchDType t);

struct TorchTensor {
  std::string name;
  TorchDType dtype = TorchDType::F32;
  std::vector<int64_t> shape, strides;  // in elements
  int64_t offset = 0;                   // in elements, into the storage
  std::string storage;                  // the storage's key (data/<key>)
  int64_t numel() const;
  bool contiguous() const;
};

class TorchCheckpoint {
 public:
  // Opens the archive and interprets data.pkl; Error naming the file and what was refused or malformed.
  explicit TorchCheckpoint(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return zip_.path(); }
  const std::vector<TorchTensor>& tensors() const { return tensors_; }  // sorted by name
  const TorchTensor* find(const std::string& name) const;
  // The tensor's values as float32 (any strides), into dst of numel() values.
  void to_f32(const TorchTensor& t, float* dst) const;

 private:
  ZipArchive zip_;
  std::string prefix_;  // "<archive>/"
  std::map<std::string, std::span<const std::byte>> storages_;
  std::vector<TorchTensor> tensors_;
};

}  // namespace ezivk::io
