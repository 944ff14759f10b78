#pragma once
// Reader for the safetensors format (8-byte little-endian header length, JSON header, raw data), memory-mapped.
// The file is untrusted: the header is fully validated on open (length inside the file, valid JSON, known dtype,
// shape × dtype size = byte range, every range inside the data section, ranges not overlapping) and any
// violation is one Error naming the file, the tensor and what was expected.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ezivk::io {

// Every dtype the format defines is accepted in a header; only the float ones convert to float.
enum class StDType { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, F8_E4M3, F8_E5M2 };
const char* st_dtype_name(StDType t);  // "F16", ...
size_t st_dtype_bytes(StDType t);

struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the start of the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws ezivk::Error naming the path on any problem.
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }  // sorted by name
  const StTensor* find(std::string_view name) const;                  // nullptr when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::span<const std::byte> bytes(const StTensor& t) const;
  // Converts F32/F16/BF16/F64 to float32 into dst (t.numel() values); other dtypes throw an Error naming the
  // file, the tensor and its dtype.
  void to_f32(const StTensor& t, float* dst) const;
  std::vector<float> to_f32(const StTensor& t) const;

 private:
  std::filesystem::path path_;
  const std::byte* map_ = nullptr;
  uint64_t map_size_ = 0, data_offset_ = 0;
  std::vector<StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The first NaN or infinity in the file's float tensors (in name order), if any: `ezivk inspect --check-weights`.
struct NonFinite {
  std::string tensor;
  int64_t index = 0;
  float value = 0;
};
std::optional<NonFinite> find_non_finite(const SafetensorsFile& file);

// Writes a safetensors file (temporary name, then rename). Used by tests and model tools.
struct StWriteTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // exactly numel × dtype size bytes
};
void write_safetensors(const std::filesystem::path& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace ezivk::io
