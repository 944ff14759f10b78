#include "engine/io/zip_archive.h"

#include <cstring>

#include "engine/util/error.h"

namespace ezivk::io {

namespace {

struct Reader {
  std::span<const std::byte> b;
  const std::string& path;
  uint64_t u(uint64_t at, int n) const {
    if (at > b.size() || uint64_t(n) > b.size() - at)
      fail(path + ": truncated or corrupt ZIP (a structure at byte " + std::to_string(at) + " runs past the end)");
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | uint64_t(std::to_integer<uint8_t>(b[at + uint64_t(i)]));
    return v;
  }
};

constexpr uint32_t kEocd = 0x06054b50, kEocd64 = 0x06064b50, kLocator64 = 0x07064b50, kCentral = 0x02014b50,
                   kLocal = 0x04034b50;

}  // namespace

ZipArchive::ZipArchive(const std::filesystem::path& path) : file_(path) {
  const std::string p = path.string();
  const auto b = file_.bytes();
  const Reader r{b, p};
  if (b.size() < 22) fail(p + ": not a ZIP archive (too short; a torch.save checkpoint is one)");
  // The end-of-central-directory record: within the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  uint64_t eocd = UINT64_MAX;
  const uint64_t lowest = b.size() > 65557 ? b.size() - 65557 : 0;
  for (uint64_t at = b.size() - 22;; --at) {
    if (r.u(at, 4) == kEocd) {
      eocd = at;
      break;
    }
    if (at == lowest) break;
  }
  if (eocd == UINT64_MAX) fail(p + ": not a ZIP archive (no end-of-central-directory record)");
  if (r.u(eocd + 4, 2) != 0 || r.u(eocd + 6, 2) != 0) fail(p + ": multi-disk ZIP archives are not supported");
  uint64_t count = r.u(eocd + 10, 2), cd_size = r.u(eocd + 12, 4), cd_offset = r.u(eocd + 16, 4);
  if (eocd >= 20 && r.u(eocd - 20, 4) == kLocator64) {
    const uint64_t at64 = r.u(eocd - 20 + 8, 8);
    if (r.u(at64, 4) != kEocd64) fail(p + ": corrupt ZIP64 end-of-central-directory record");
    count = r.u(at64 + 32, 8);
    cd_size = r.u(at64 + 40, 8);
    cd_offset = r.u(at64 + 48, 8);
  }
  if (cd_offset > b.size() || cd_size > b.size() - cd_offset)
    fail(p + ": the ZIP central directory lies outside the file (truncated?)");
  if (count > cd_size / 46) fail(p + ": the ZIP central directory claims more entries than it can hold");
  uint64_t at = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (r.u(at, 4) != kCentral) fail(p + ": corrupt ZIP central directory (entry " + std::to_string(i) + ")");
    const uint64_t flags = r.u(at + 8, 2), method = r.u(at + 10, 2);
    uint64_t csize = r.u(at + 20, 4), usize = r.u(at + 24, 4), local = r.u(at + 42, 4);
    const uint64_t name_len = r.u(at + 28, 2), extra_len = r.u(at + 30, 2), comment_len = r.u(at + 32, 2);
    if (at + 46 + name_len > b.size()) fail(p + ": truncated ZIP central directory");
    std::string name(reinterpret_cast<const char*>(b.data() + at + 46), name_len);
    // ZIP64 extra field: the 8-byte sizes and offset that did not fit, in this order.
    for (uint64_t e = at + 46 + name_len, end = e + extra_len; e + 4 <= end;) {
      const uint64_t id = r.u(e, 2), len = r.u(e + 2, 2);
      if (e + 4 + len > end) fail(p + ": corrupt ZIP extra field in entry '" + name + "'");
      if (id == 1) {
        uint64_t f = e + 4;
        auto take = [&](uint64_t& v) {
          if (v == 0xffffffff) {
            if (f + 8 > e + 4 + len) fail(p + ": corrupt ZIP64 field in entry '" + name + "'");
            v = r.u(f, 8);
            f += 8;
          }
        };
        take(usize);
        take(csize);
        take(local);
      }
      e += 4 + len;
    }
    if (flags & 1) fail(p + ": ZIP entry '" + name + "' is encrypted");
    if (method != 0)
      fail(p + ": ZIP entry '" + name + "' is compressed (method " + std::to_string(method) +
           "); torch.save stores entries uncompressed");
    if (csize != usize) fail(p + ": ZIP entry '" + name + "' has inconsistent sizes");
    if (r.u(local, 4) != kLocal) fail(p + ": ZIP entry '" + name + "' has no local header where the directory says");
    const uint64_t data = local + 30 + r.u(local + 26, 2) + r.u(local + 28, 2);
    if (data > b.size() || csize > b.size() - data)
      fail(p + ": ZIP entry '" + name + "' runs past the end of the file (truncated?)");
    if (!entries_.emplace(name, b.subspan(data, csize)).second) fail(p + ": duplicate ZIP entry '" + name + "'");
    at += 46 + name_len + extra_len + comment_len;
    if (at > cd_offset + cd_size) fail(p + ": corrupt ZIP central directory");
  }
}

std::span<const std::byte> ZipArchive::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path().string() + ": no entry '" + name + "' in the archive");
  return it->second;
}

}  // namespace ezivk::io
