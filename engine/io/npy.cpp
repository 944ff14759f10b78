#include "engine/io/npy.h"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "engine/util/error.h"
#include "engine/io/atomic_file.h"
#include "engine/util/half.h"
#include "engine/io/file_check.h"

namespace ezivk::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
// Larger headers are not written by numpy (it caps them far lower): refuse before allocating.
constexpr uint64_t kMaxHeaderBytes = 1u << 20;

struct Descr {
  char kind;  // 'f', 'i', 'u', 'b'
  size_t bytes;
  std::string canonical;  // "<f4", "|u1": how numpy itself spells it
};

// Parses "<f4", "|u1", ...: little-endian (or byte-order-free single bytes) only.
std::optional<Descr> parse_descr(const std::string& d, std::string& why) {
  if (d.size() != 3) {
    why = "is not a supported dtype (expected one of <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)";
    return std::nullopt;
  }
  const char order = d[0], kind = d[1], size = d[2];
  const bool known = (kind == 'f' && (size == '2' || size == '4' || size == '8')) ||
                     ((kind == 'i' || kind == 'u') && (size == '1' || size == '2' || size == '4' || size == '8')) ||
                     (kind == 'b' && size == '1');
  if (!known || (order != '<' && order != '>' && order != '|' && order != '=')) {
    why = "is not a supported dtype (expected one of <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)";
    return std::nullopt;
  }
  const size_t bytes = size_t(size - '0');
  if (bytes > 1 && order == '>') {
    why = "is big-endian, which is not supported (expected little-endian '<')";
    return std::nullopt;
  }
  if (bytes > 1 && order != '<') {
    why = "has no explicit little-endian byte order (expected '<')";
    return std::nullopt;
  }
  return Descr{kind, bytes, std::string(1, bytes == 1 ? '|' : '<') + kind + size};
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

bool checked_numel(const std::vector<int64_t>& shape, uint64_t& numel) {
  uint64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n) || n > uint64_t(std::numeric_limits<int64_t>::max()))
      return false;
  numel = n;
  return true;
}

// The header is a Python dict literal. Only the subset numpy writes is accepted: string keys, string/bool
// values and tuples of integers, with optional trailing commas.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& path) : s_(s), path_(path) {}

  struct Value {
    enum Kind { Str, Bool, Tuple } kind;
    std::string str;
    bool b = false;
    std::vector<int64_t> tuple;
  };

  std::map<std::string, Value> parse_dict() {
    std::map<std::string, Value> out;
    ws();
    expect('{');
    ws();
    while (!peek('}')) {
      std::string key = string_lit();
      ws();
      expect(':');
      ws();
      Value v = value(key);
      if (!out.emplace(key, std::move(v)).second) fail(path_ + ": header key '" + key + "' appears twice");
      ws();
      if (peek(',')) {
        ++pos_;
        ws();
      } else if (!peek('}')) {
        bad("',' or '}'");
      }
    }
    ++pos_;
    ws();
    if (pos_ != s_.size()) bad("the end of the header after the dict");
    return out;
  }

 private:
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  [[noreturn]] void bad(const std::string& expected) const {
    fail(path_ + ": malformed header at byte " + std::to_string(pos_) + " (expected " + expected + ")");
  }
  void expect(char c) {
    if (!peek(c)) bad(std::string("'") + c + "'");
    ++pos_;
  }
  std::string string_lit() {
    if (!peek('\'') && !peek('"')) bad("a quoted string");
    const char q = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') bad("a string without escapes");
      out += s_[pos_++];
    }
    if (pos_ == s_.size()) bad("a closing quote");
    ++pos_;
    return out;
  }
  int64_t integer(const std::string& key) {
    const size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (__builtin_mul_overflow(v, uint64_t(10), &v) || __builtin_add_overflow(v, uint64_t(s_[pos_] - '0'), &v) ||
          v > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(path_ + ": '" + key + "' holds a size too large for 64 bits");
      ++pos_;
    }
    if (pos_ == start) bad("a non-negative integer in '" + key + "'");
    if (peek('L')) ++pos_;  // Python 2 long literal, written by old numpy
    return int64_t(v);
  }
  Value value(const std::string& key) {
    Value v{Value::Str, {}, false, {}};
    if (peek('\'') || peek('"')) {
      v.str = string_lit();
    } else if (s_.substr(pos_, 4) == "True") {
      v.kind = Value::Bool;
      v.b = true;
      pos_ += 4;
    } else if (s_.substr(pos_, 5) == "False") {
      v.kind = Value::Bool;
      pos_ += 5;
    } else if (peek('(')) {
      v.kind = Value::Tuple;
      ++pos_;
      ws();
      bool need_comma = false;  // "(5)" is an int in Python, not a tuple: one element needs a comma
      while (!peek(')')) {
        v.tuple.push_back(integer(key));
        ws();
        need_comma = v.tuple.size() == 1;
        if (peek(',')) {
          ++pos_;
          need_comma = false;
          ws();
        } else if (!peek(')')) {
          bad("',' or ')' in '" + key + "'");
        }
      }
      if (need_comma) bad("',' after the only element of '" + key + "'");
      ++pos_;
    } else {
      bad("a string, True, False or a tuple as the value of '" + key + "'");
    }
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
  const std::string& path_;
};

template <typename T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

const Descr& checked_descr(const NpyArray& a, const char* what, std::optional<Descr>& storage) {
  std::string why;
  storage = parse_descr(a.dtype, why);
  if (!storage) fail(std::string("npy array: dtype '") + a.dtype + "' " + why);
  uint64_t n = 0, need = 0;
  if (!checked_numel(a.shape, n) || __builtin_mul_overflow(n, uint64_t(storage->bytes), &need))
    fail("npy array: shape " + shape_str(a.shape) + " has a negative size or overflows 64 bits");
  if (a.data.size() != need)
    fail(std::string("npy array: ") + what + " needs " + std::to_string(need) + " bytes for shape " +
         shape_str(a.shape) + " of " + a.dtype + ", got " + std::to_string(a.data.size()));
  return *storage;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::as_f32() const {
  std::optional<Descr> s;
  const Descr& d = checked_descr(*this, "as_f32", s);
  const size_t n = data.size() / d.bytes;
  std::vector<float> out(n);
  const std::byte* p = data.data();
  auto convert = [&]<typename T>(T) {
    for (size_t i = 0; i < n; ++i) out[i] = float(load<T>(p + i * sizeof(T)));
  };
  if (d.kind == 'f' && d.bytes == 2) {
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load<uint16_t>(p + 2 * i));
  } else if (d.kind == 'f') {
    d.bytes == 4 ? convert(float{}) : convert(double{});
  } else if (d.kind == 'i') {
    switch (d.bytes) {
      case 1:
        convert(int8_t{});
        break;
      case 2:
        convert(int16_t{});
        break;
      case 4:
        convert(int32_t{});
        break;
      default:
        convert(int64_t{});
        break;
    }
  } else if (d.kind == 'u') {
    switch (d.bytes) {
      case 1:
        convert(uint8_t{});
        break;
      case 2:
        convert(uint16_t{});
        break;
      case 4:
        convert(uint32_t{});
        break;
      default:
        convert(uint64_t{});
        break;
    }
  } else {
    fail("npy array: dtype '" + dtype + "' does not convert to float32 (expected a float or integer dtype)");
  }
  return out;
}

std::vector<int64_t> NpyArray::as_i64() const {
  std::optional<Descr> s;
  const Descr& d = checked_descr(*this, "as_i64", s);
  if (d.kind != 'i' && d.kind != 'u')
    fail("npy array: dtype '" + dtype + "' does not convert to int64 (expected an integer dtype)");
  const size_t n = data.size() / d.bytes;
  std::vector<int64_t> out(n);
  const std::byte* p = data.data();
  for (size_t i = 0; i < n; ++i) {
    const std::byte* e = p + i * d.bytes;
    if (d.kind == 'i') {
      switch (d.bytes) {
        case 1:
          out[i] = load<int8_t>(e);
          break;
        case 2:
          out[i] = load<int16_t>(e);
          break;
        case 4:
          out[i] = load<int32_t>(e);
          break;
        default:
          out[i] = load<int64_t>(e);
          break;
      }
    } else {
      uint64_t u;
      switch (d.bytes) {
        case 1:
          u = load<uint8_t>(e);
          break;
        case 2:
          u = load<uint16_t>(e);
          break;
        case 4:
          u = load<uint32_t>(e);
          break;
        default:
          u = load<uint64_t>(e);
          break;
      }
      if (u > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("npy array: element " + std::to_string(i) + " = " + std::to_string(u) + " of dtype '" + dtype +
             "' does not fit int64");
      out[i] = int64_t(u);
    }
  }
  return out;
}

NpyArray read_npy(const std::filesystem::path& path) {
  const std::string p = path.string();
  expect_file(path, "a .npy file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(p + ": cannot open (" + std::strerror(errno) + ")");
  f.seekg(0, std::ios::end);
  const std::streamoff end = f.tellg();
  f.seekg(0, std::ios::beg);
  if (end < 0 || !f) fail(p + ": cannot read its size");
  const uint64_t size = uint64_t(end);
  auto read_exact = [&](void* dst, uint64_t n, const char* what) {
    f.read(static_cast<char*>(dst), std::streamsize(n));
    if (uint64_t(f.gcount()) != n) fail(p + ": file ends inside the " + std::string(what));
  };

  if (size < 10) fail(p + ": file is " + std::to_string(size) + " bytes, too short for a .npy header");
  unsigned char pre[8];
  read_exact(pre, 8, "magic");
  if (std::memcmp(pre, kMagic, 6) != 0) fail(p + ": not a .npy file (magic \\x93NUMPY missing)");
  const int major = pre[6], minor = pre[7];
  uint64_t header_len = 0, prefix = 0;
  if (major == 1 && minor == 0) {
    unsigned char l[2];
    read_exact(l, 2, "header length");
    header_len = uint64_t(l[0]) | uint64_t(l[1]) << 8;
    prefix = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    unsigned char l[4];
    read_exact(l, 4, "header length");
    header_len = uint64_t(l[0]) | uint64_t(l[1]) << 8 | uint64_t(l[2]) << 16 | uint64_t(l[3]) << 24;
    prefix = 12;
  } else {
    fail(p + ": .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
         " is not supported (expected 1.0, 2.0 or 3.0)");
  }
  if (header_len > kMaxHeaderBytes) fail(p + ": header length " + std::to_string(header_len) + " is implausibly large");
  if (header_len > size - prefix)
    fail(p + ": header length " + std::to_string(header_len) + " exceeds the " + std::to_string(size - prefix) +
         " bytes left in the file");
  std::string header(header_len, '\0');
  read_exact(header.data(), header_len, "header");

  const auto dict = HeaderParser(header, p).parse_dict();
  for (const auto& [k, v] : dict)
    if (k != "descr" && k != "fortran_order" && k != "shape")
      fail(p + ": header has unexpected key '" + k + "' (expected descr, fortran_order and shape)");
  auto get = [&](const char* k) -> const HeaderParser::Value& {
    auto it = dict.find(k);
    if (it == dict.end()) fail(p + ": header has no '" + std::string(k) + "'");
    return it->second;
  };
  const auto& descr = get("descr");
  const auto& fortran = get("fortran_order");
  const auto& shape = get("shape");
  if (descr.kind != HeaderParser::Value::Str) fail(p + ": 'descr' must be a string");
  if (fortran.kind != HeaderParser::Value::Bool) fail(p + ": 'fortran_order' must be True or False");
  if (shape.kind != HeaderParser::Value::Tuple) fail(p + ": 'shape' must be a tuple of integers");
  if (fortran.b) fail(p + ": array is stored in Fortran order, which is not supported (expected C order)");
  std::string why;
  const auto d = parse_descr(descr.str, why);
  if (!d) fail(p + ": dtype '" + descr.str + "' " + why);

  NpyArray a;
  a.dtype = d->canonical;
  a.shape = shape.tuple;
  uint64_t n = 0, need = 0;
  if (!checked_numel(a.shape, n) || __builtin_mul_overflow(n, uint64_t(d->bytes), &need))
    fail(p + ": shape " + shape_str(a.shape) + " overflows 64 bits");
  const uint64_t left = size - prefix - header_len;
  if (need != left)
    fail(p + ": shape " + shape_str(a.shape) + " of " + a.dtype + " needs " + std::to_string(need) +
         " bytes of data but the file has " + std::to_string(left));
  a.data.resize(need);
  read_exact(a.data.data(), need, "data");
  return a;
}

void write_npy(std::ostream& f, const NpyArray& a, const std::string& p) {
  std::string why;
  const auto d = parse_descr(a.dtype, why);
  if (!d) fail(p + ": dtype '" + a.dtype + "' " + why);
  uint64_t n = 0, need = 0;
  if (!checked_numel(a.shape, n) || __builtin_mul_overflow(n, uint64_t(d->bytes), &need))
    fail(p + ": shape " + shape_str(a.shape) + " has a negative size or overflows 64 bits");
  if (a.data.size() != need)
    fail(p + ": shape " + shape_str(a.shape) + " of " + d->canonical + " needs " + std::to_string(need) +
         " bytes, got " + std::to_string(a.data.size()));

  std::string header =
      "{'descr': '" + d->canonical + "', 'fortran_order': False, 'shape': " + shape_str(a.shape) + ", }";
  // numpy pads with spaces and ends with '\n' so that the data starts at a multiple of 64 bytes.
  auto padded = [&](size_t prefix) {
    std::string h = header;
    const size_t total = prefix + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h += '\n';
    return h;
  };
  std::string h = padded(10);
  const bool v2 = h.size() > 0xffff;  // only for absurdly many dimensions
  if (v2) h = padded(12);

  {
    f.write(kMagic, 6);
    const char ver[2] = {char(v2 ? 2 : 1), 0};
    f.write(ver, 2);
    const uint64_t len = h.size();
    for (int i = 0; i < (v2 ? 4 : 2); ++i) f.put(char((len >> (8 * i)) & 0xffu));
    f.write(h.data(), std::streamsize(h.size()));
    f.write(reinterpret_cast<const char*>(a.data.data()), std::streamsize(a.data.size()));
  }
}

void write_npy(const std::filesystem::path& path, const NpyArray& a) {
  std::ostringstream probe;  // validates before anything is created
  write_npy(probe, a, path.string());
  const std::string bytes = std::move(probe).str();
  write_file_atomically(path, [&](std::ostream& f) { f.write(bytes.data(), std::streamsize(bytes.size())); });
}

void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape, const float* values) {
  NpyArray a;
  a.dtype = "<f4";
  a.shape = shape;
  uint64_t n = 0;
  if (!checked_numel(shape, n) || n > std::numeric_limits<uint64_t>::max() / 4)
    fail(path.string() + ": shape " + shape_str(shape) + " has a negative size or overflows 64 bits");
  a.data.resize(n * 4);
  if (n) std::memcpy(a.data.data(), values, n * 4);
  write_npy(path, a);
}

}  // namespace ezivk::io
