#pragma once
// A read-only memory map of a whole file (move-only owner): large checkpoints are read in place, never copied.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace ezivk::io {

class MappedFile {
 public:
  // Error naming the path when it cannot be opened or mapped. An empty file maps to an empty span.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace ezivk::io
