#pragma once
// NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): what `--dump` writes and what the golden
// fixtures made by PyTorch are stored as. Reading validates the header (magic, version, length, dict keys,
// dtype, shape × item size = bytes left in the file) and never trusts it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace ezivk::io {

struct NpyArray {
  std::string dtype;  // numpy descr: "<f4", "<f2", "<f8", "<i8", "<i4", "<u4", "|u1", "|b1", ...
  std::vector<int64_t> shape;
  std::vector<std::byte> data;  // C order, little-endian
  int64_t numel() const;
  std::vector<float> as_f32() const;     // from f2/f4/f8 (and integer kinds); Error otherwise
  std::vector<int64_t> as_i64() const;   // from integer kinds; Error otherwise
};

NpyArray read_npy(const std::filesystem::path& path);
// Writes to a temporary name, then renames.
void write_npy(const std::filesystem::path& path, const NpyArray& a);
// The same bytes to a stream (for io::OutputSet); `name` labels errors.
void write_npy(std::ostream& out, const NpyArray& a, const std::string& name);
void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* values);

}  // namespace ezivk::io
