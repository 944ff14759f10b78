#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "engine/util/error.h"
#include "engine/io/atomic_file.h"
#include "engine/util/half.h"
#include "engine/io/file_check.h"

namespace ezivk::io {
namespace {

using nlohmann::json;

// A header larger than this is not a model file: refusing it bounds the memory a hostile file can make us use.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
  StDType type;
  const char* name;
  size_t bytes;
};
constexpr DTypeInfo kDTypes[] = {
    {StDType::BOOL, "BOOL", 1}, {StDType::U8, "U8", 1},           {StDType::I8, "I8", 1},
    {StDType::I16, "I16", 2},   {StDType::U16, "U16", 2},         {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::I32, "I32", 4},         {StDType::U32, "U32", 4},
    {StDType::F32, "F32", 4},   {StDType::F64, "F64", 8},         {StDType::I64, "I64", 8},
    {StDType::U64, "U64", 8},   {StDType::F8_E4M3, "F8_E4M3", 1}, {StDType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeInfo& info(StDType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  fail("safetensors: unknown dtype value " + std::to_string(int(t)));
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A JSON value shortened for an error message: a hostile header could hold megabytes in one value.
std::string short_dump(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// The element count of a shape; false when a size is negative or the product leaves int64 range.
bool checked_numel(const std::vector<int64_t>& shape, uint64_t& numel) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n) || n > uint64_t(std::numeric_limits<int64_t>::max()))
      return false;
  }
  numel = n;
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

const char* st_dtype_name(StDType t) { return info(t).name; }
size_t st_dtype_bytes(StDType t) { return info(t).bytes; }

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  const std::string p = path.string();
  expect_file(path, "a .safetensors file");  // before open(): opening a FIFO would block
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(p + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(p + ": cannot stat (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) fail(p + ": not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  if (size < 8)
    fail(p + ": file is " + std::to_string(size) + " bytes, shorter than the 8-byte safetensors header length");
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (m == MAP_FAILED) fail(p + ": cannot mmap " + std::to_string(size) + " bytes (" + std::strerror(errno) + ")");
  map_ = static_cast<const std::byte*>(m);
  map_size_ = size;
  // The destructor does not run when the constructor throws, so the mapping is released here.
  try {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint64_t(map_[i]);
    if (header_len > kMaxHeaderBytes)
      fail(p + ": header length " + std::to_string(header_len) + " is larger than the 100 MB limit");
    if (header_len > size - 8)
      fail(p + ": header length " + std::to_string(header_len) + " exceeds the " + std::to_string(size - 8) +
           " bytes after the length field");
    data_offset_ = 8 + header_len;
    const uint64_t data_size = size - data_offset_;

    // Duplicate tensor names would silently keep the last entry; the callback sees every top-level key.
    std::set<std::string> seen;
    std::string duplicate;
    json header;
    const char* hb = reinterpret_cast<const char*>(map_ + 8);
    try {
      header = json::parse(hb, hb + header_len, [&](int depth, json::parse_event_t ev, json& parsed) {
        // A valid header nests 3 levels; deeper values would be serialised recursively by error messages.
        if (depth > 8) fail(p + ": header nests deeper than 8 levels");
        if (depth == 1 && ev == json::parse_event_t::key && parsed.is_string() &&
            !seen.insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
        return true;
      });
    } catch (const json::exception& e) {
      fail(p + ": header is not valid JSON (" + e.what() + ")");
    }
    if (!header.is_object()) fail(p + ": header must be a JSON object, got " + std::string(header.type_name()));
    if (!duplicate.empty()) fail(p + ": tensor '" + duplicate + "' appears more than once in the header");

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const json& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail(p + ": __metadata__ must be an object of strings, got " + short_dump(v));
        for (auto m2 = v.begin(); m2 != v.end(); ++m2) {
          if (!m2.value().is_string())
            fail(p + ": __metadata__ key '" + m2.key() + "' must be a string, got " + short_dump(m2.value()));
          metadata_[m2.key()] = m2.value().get<std::string>();
        }
        continue;
      }
      const std::string where = p + ": tensor '" + name + "'";
      if (!v.is_object()) fail(where + " must be an object with dtype, shape and data_offsets, got " + short_dump(v));
      StTensor t;
      t.name = name;

      const auto dt = v.find("dtype");
      if (dt == v.end()) fail(where + " has no dtype");
      if (!dt->is_string()) fail(where + " has dtype " + short_dump(*dt) + ", expected a string");
      const std::string dname = dt->get<std::string>();
      const DTypeInfo* di = nullptr;
      for (const auto& d : kDTypes)
        if (dname == d.name) di = &d;
      if (!di) fail(where + " has unknown dtype '" + dname + "'");
      t.dtype = di->type;

      const auto sh = v.find("shape");
      if (sh == v.end()) fail(where + " has no shape");
      if (!sh->is_array()) fail(where + " has shape " + short_dump(*sh) + ", expected a list of non-negative integers");
      for (const json& d : *sh) {
        // nlohmann stores every non-negative integer literal as unsigned; negatives and floats are rejected here.
        if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
          fail(where + " has shape " + short_dump(*sh) + ", expected a list of non-negative integers");
        t.shape.push_back(d.get<int64_t>());
      }
      uint64_t numel = 0, need = 0;
      if (!checked_numel(t.shape, numel) || __builtin_mul_overflow(numel, uint64_t(di->bytes), &need))
        fail(where + " has shape " + shape_str(t.shape) + " whose size overflows 64 bits");

      const auto off = v.find("data_offsets");
      if (off == v.end()) fail(where + " has no data_offsets");
      if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
        fail(where + " has data_offsets " + short_dump(*off) + ", expected [begin, end] of non-negative integers");
      t.begin = (*off)[0].get<uint64_t>();
      t.end = (*off)[1].get<uint64_t>();
      const std::string offs = "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
      if (t.begin > t.end) fail(where + " has data_offsets " + offs + " with begin after end");
      if (t.end > data_size)
        fail(where + " has data_offsets " + offs + " past the end of the " + std::to_string(data_size) +
             "-byte data section");
      if (t.end - t.begin != need)
        fail(where + " has data_offsets " + offs + " but shape " + shape_str(t.shape) + " of " + di->name + " needs " +
             std::to_string(need) + " bytes");
      tensors_.push_back(std::move(t));
    }

    std::vector<const StTensor*> by_begin;
    for (const auto& t : tensors_) by_begin.push_back(&t);
    std::sort(by_begin.begin(), by_begin.end(), [](const StTensor* a, const StTensor* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    // Empty tensors occupy no bytes and overlap nothing; each non-empty one is compared with the previous
    // non-empty one, whose end is the furthest so far because no earlier pair overlapped.
    const StTensor* prev = nullptr;
    for (const StTensor* bp : by_begin) {
      const StTensor& b = *bp;
      if (b.begin == b.end) continue;
      if (prev && b.begin < prev->end) {
        const StTensor& a = *prev;
        fail(p + ": tensor '" + b.name + "' bytes [" + std::to_string(b.begin) + ", " + std::to_string(b.end) +
             ") overlap tensor '" + a.name + "' bytes [" + std::to_string(a.begin) + ", " + std::to_string(a.end) +
             ")");
      }
      prev = &b;
    }
    // nlohmann's object is ordered by key, so tensors_ is already sorted by name; sorting again keeps the
    // guarantee independent of the JSON library's container.
    std::sort(tensors_.begin(), tensors_.end(), [](const StTensor& a, const StTensor& b) { return a.name < b.name; });
  } catch (...) {
    ::munmap(const_cast<std::byte*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<std::byte*>(map_), map_size_);
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept
    : path_(std::move(o.path_)),
      map_(std::exchange(o.map_, nullptr)),
      map_size_(std::exchange(o.map_size_, 0)),
      data_offset_(std::exchange(o.data_offset_, 0)),
      tensors_(std::move(o.tensors_)),
      metadata_(std::move(o.metadata_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(const_cast<std::byte*>(map_), map_size_);
    path_ = std::move(o.path_);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
    data_offset_ = std::exchange(o.data_offset_, 0);
    tensors_ = std::move(o.tensors_);
    metadata_ = std::move(o.metadata_);
  }
  return *this;
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const StTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsFile::bytes(const StTensor& t) const {
  // A StTensor is a plain value: one from another file (or edited) must not read outside this mapping.
  if (!map_ || t.begin > t.end || t.end > map_size_ - data_offset_)
    fail(path_.string() + ": tensor '" + t.name + "' byte range [" + std::to_string(t.begin) + ", " +
         std::to_string(t.end) + ") is not inside this file's data section");
  return {map_ + data_offset_ + t.begin, size_t(t.end - t.begin)};
}

void SafetensorsFile::to_f32(const StTensor& t, float* dst) const {
  const std::span<const std::byte> b = bytes(t);
  const size_t es = st_dtype_bytes(t.dtype);
  if (t.numel() < 0 || b.size() != uint64_t(t.numel()) * es)
    fail(path_.string() + ": tensor '" + t.name + "' has " + std::to_string(b.size()) + " bytes but shape " +
         shape_str(t.shape) + " of " + st_dtype_name(t.dtype) + " needs " + std::to_string(uint64_t(t.numel()) * es));
  const size_t n = b.size() / es;
  const std::byte* src = b.data();
  switch (t.dtype) {
    case StDType::F32:
      if (n) std::memcpy(dst, src, n * 4);  // dst may be null for an empty tensor
      break;
    case StDType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = half_to_float(h);
      }
      break;
    case StDType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const uint32_t x = uint32_t(h) << 16;
        std::memcpy(dst + i, &x, 4);
      }
      break;
    case StDType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = float(d);
      }
      break;
    default:
      fail(path_.string() + ": tensor '" + t.name + "' has dtype " + st_dtype_name(t.dtype) +
           ", which does not convert to float32 (expected F32, F16, BF16 or F64)");
  }
}

std::vector<float> SafetensorsFile::to_f32(const StTensor& t) const {
  std::vector<float> out(size_t(std::max<int64_t>(t.numel(), 0)));
  to_f32(t, out.data());
  return out;
}

std::optional<NonFinite> find_non_finite(const SafetensorsFile& file) {
  std::vector<float> v;
  for (const auto& t : file.tensors()) {
    if (t.dtype != StDType::F32 && t.dtype != StDType::F16 && t.dtype != StDType::BF16 && t.dtype != StDType::F64)
      continue;
    v.resize(size_t(t.numel()));
    file.to_f32(t, v.data());
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i])) return NonFinite{t.name, int64_t(i), v[i]};
  }
  return std::nullopt;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<StWriteTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string p = path.string();
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string where = p + ": tensor '" + t.name + "'";
    if (t.name == "__metadata__") fail(where + " uses the name reserved for the metadata entry");
    if (header.contains(t.name)) fail(where + " is given more than once");
    uint64_t numel = 0, need = 0;
    if (!checked_numel(t.shape, numel) || __builtin_mul_overflow(numel, uint64_t(st_dtype_bytes(t.dtype)), &need))
      fail(where + " has shape " + shape_str(t.shape) + ", expected non-negative sizes whose product fits 64 bits");
    if (t.data.size() != need)
      fail(where + " has " + std::to_string(t.data.size()) + " bytes of data but shape " + shape_str(t.shape) + " of " +
           st_dtype_name(t.dtype) + " needs " + std::to_string(need));
    header[t.name] = {{"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + need}}};
    offset += need;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  // Padding the header to a multiple of 8 keeps the data section 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](std::ostream& f) {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = (uint64_t(text.size()) >> (8 * i)) & 0xffu;
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(text.data(), std::streamsize(text.size()));
    for (const auto& t : tensors) f.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(t.data.size()));
  });
}

}  // namespace ezivk::io
