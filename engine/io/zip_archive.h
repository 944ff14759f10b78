#pragma once
// The ZIP container of torch.save files: the central directory (zip64 too: checkpoints pass 4 GB) and entries
// stored without compression, which is how torch writes them. The file is untrusted: every offset and size is
// checked against the file, and anything else (compression, encryption, spanning) is an Error naming the entry.
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "engine/io/mapped_file.h"

namespace ezivk::io {

class ZipArchive {
 public:
  explicit ZipArchive(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // The stored bytes of an entry, in place in the mapped file; Error naming it when absent.
  std::span<const std::byte> entry(const std::string& name) const;
  const std::map<std::string, std::span<const std::byte>>& entries() const { return entries_; }

 private:
  MappedFile file_;
  std::map<std::string, std::span<const std::byte>> entries_;
};

}  // namespace ezivk::io
