#include "engine/io/png.h"

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>

#include "engine/util/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/file_check.h"

namespace ezivk::io {
namespace {

// libpng reports an error by calling the error callback, which must not return: it longjmps back to the
// setjmp in the step that called libpng. Everything the callbacks touch is therefore plain data, and each
// step that calls setjmp (the *_step functions) holds no object with a destructor, so the jump skips none.
struct ErrorSink {
  char message[256];
};

void on_error(png_structp png, png_const_charp msg) {
  auto* sink = static_cast<ErrorSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

// Warnings (a known-incorrect sRGB profile, extra compressed data after the image) never change the pixels
// returned; anything that would is an error above.
void on_warning(png_structp, png_const_charp) {}

struct MemorySource {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

void read_from_memory(png_structp png, png_bytep out, size_t n) {
  auto* src = static_cast<MemorySource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "the file ends inside a chunk (truncated)");
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

struct MemorySink {
  uint8_t* data;
  size_t size;
  size_t capacity;
};

void write_to_memory(png_structp png, png_bytep in, size_t n) {
  auto* sink = static_cast<MemorySink*>(png_get_io_ptr(png));
  if (n > sink->capacity - sink->size) {
    size_t cap = sink->capacity ? sink->capacity : 4096;
    while (cap - sink->size < n) cap *= 2;
    auto* grown = static_cast<uint8_t*>(std::realloc(sink->data, cap));
    if (!grown) png_error(png, "out of memory while encoding");
    sink->data = grown;
    sink->capacity = cap;
  }
  std::memcpy(sink->data + sink->size, in, n);
  sink->size += n;
}

void flush_memory(png_structp) {}

struct Header {
  png_uint_32 width, height;
  int channels;
  size_t rowbytes;
  int passes;
};

bool read_header_step(png_structp png, png_infop info, Header* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_user_limits(png, kPngMaxDimension, kPngMaxDimension);
  png_set_chunk_cache_max(png, 1000);           // ancillary chunks kept
  png_set_chunk_malloc_max(png, 8u << 20);      // bytes per chunk, decompressed text included
  png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_read_info(png, info);
  png_set_expand(png);  // palette -> RGB, grey < 8 bits -> 8 bits, tRNS -> alpha
  png_set_scale_16(png);
  png_set_gray_to_rgb(png);
  out->passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  out->channels = png_get_channels(png, info);
  out->rowbytes = png_get_rowbytes(png, info);
  return true;
}

// rows: one pointer per image row, or null to decode into `scratch` (one row) and keep only the text chunks.
bool read_rows_step(png_structp png, png_infop info, png_bytepp rows, png_bytep scratch, const Header* h) {
  if (setjmp(png_jmpbuf(png))) return false;
  if (rows) {
    png_read_image(png, rows);
  } else {
    for (int pass = 0; pass < h->passes; ++pass) {
      for (png_uint_32 y = 0; y < h->height; ++y) png_read_row(png, scratch, nullptr);
    }
  }
  png_read_end(png, info);
  return true;
}

bool write_step(png_structp png, png_infop info, png_uint_32 width, png_uint_32 height, int color_type,
                png_textp text, int text_count, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, width, height, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (text_count > 0) png_set_text(png, info, text, text_count);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

class ReadStruct {
 public:
  ReadStruct(const std::string& name, const std::vector<uint8_t>& bytes) : src_{bytes.data(), bytes.size(), 0} {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink_, on_error, on_warning);
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) fail(name + ": cannot create a libpng reader (out of memory)");
    png_set_read_fn(png_, &src_, read_from_memory);
  }
  ~ReadStruct() { png_destroy_read_struct(&png_, info_ ? &info_ : nullptr, nullptr); }
  ReadStruct(const ReadStruct&) = delete;
  ReadStruct& operator=(const ReadStruct&) = delete;

  [[noreturn]] void fail_with_libpng(const std::string& name) const {
    fail(name + ": not a valid PNG file (libpng: " + sink_.message + ")");
  }

  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  ErrorSink sink_{};
  MemorySource src_;
};

class WriteStruct {
 public:
  explicit WriteStruct(const std::string& name) {
    png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink_, on_error, on_warning);
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) fail(name + ": cannot create a libpng writer (out of memory)");
    png_set_write_fn(png_, &out_, write_to_memory, flush_memory);
  }
  ~WriteStruct() {
    png_destroy_write_struct(&png_, info_ ? &info_ : nullptr);
    std::free(out_.data);
  }
  WriteStruct(const WriteStruct&) = delete;
  WriteStruct& operator=(const WriteStruct&) = delete;

  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  ErrorSink sink_{};
  MemorySink out_{nullptr, 0, 0};
};

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  const std::string p = path.string();
  expect_file(path, "a PNG file");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(p + ": cannot open for reading (" + std::strerror(errno) + ")");
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  // A maximal 8192 x 8192 16-bit RGBA image stored without compression is about 512 MiB.
  constexpr std::streamoff kMaxBytes = std::streamoff(1) << 30;
  if (size < 0 || size > kMaxBytes) fail(p + ": a PNG file must be at most 1 GiB, this one is larger");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!f) fail(p + ": reading failed (" + std::strerror(errno) + ")");
  if (bytes.empty()) fail(p + ": the file is empty, expected a PNG image");
  return bytes;
}

// libpng enforces the same limit but reports only "Invalid IHDR data"; this names the size. Anything else
// wrong with the header is left to libpng.
void check_declared_size(const std::string& name, const std::vector<uint8_t>& f) {
  if (f.size() < 24 || std::memcmp(&f[12], "IHDR", 4) != 0) return;
  auto be32 = [&](size_t i) {
    return uint32_t(f[i]) << 24 | uint32_t(f[i + 1]) << 16 | uint32_t(f[i + 2]) << 8 | uint32_t(f[i + 3]);
  };
  const uint32_t w = be32(16), h = be32(20);
  if (w > uint32_t(kPngMaxDimension) || h > uint32_t(kPngMaxDimension)) {
    fail(name + ": the image is " + std::to_string(w) + "x" + std::to_string(h) + " pixels, at most " +
         std::to_string(kPngMaxDimension) + "x" + std::to_string(kPngMaxDimension) + " are accepted");
  }
  // Every chunk up to IEND must fit in the file. libpng 1.6.39 allocates a text chunk's declared length before
  // reading it, so a 344-byte file declaring a 1 GiB zTXt made it allocate 1 GiB (found by fuzzing).
  for (size_t at = 8; at + 8 <= f.size();) {
    const uint64_t len = be32(at);
    const std::string type(reinterpret_cast<const char*>(&f[at + 4]), 4);
    if (at + 12 + len > f.size()) {
      const bool printable = std::all_of(type.begin(), type.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
      fail(name + ": the chunk " + (printable ? "'" + type + "' " : "") + "at byte " + std::to_string(at) + " declares " +
           std::to_string(len) + " bytes, but the file ends " + std::to_string(f.size() - std::min<size_t>(f.size(), at + 8)) +
           " bytes after its header (truncated or corrupt)");
    }
    if (type == "IEND") break;
    at += 12 + size_t(len);
  }
}

// Decodes UTF-8 strictly (no overlongs, surrogates or values above U+10FFFF); nullopt when invalid.
std::optional<std::u32string> decode_utf8(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + size_t(len) > s.size()) return std::nullopt;
    char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1fu) : len == 3 ? (b0 & 0x0fu) : (b0 & 0x07u);
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + size_t(k)]);
      if ((b >> 6) != 0x2) return std::nullopt;
      cp = (cp << 6) | (b & 0x3fu);
    }
    static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    out.push_back(cp);
    i += size_t(len);
  }
  return out;
}

std::string latin1_to_utf8(const char* s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(char(c));
    } else {
      out.push_back(char(0xc0 | (c >> 6)));
      out.push_back(char(0x80 | (c & 0x3f)));
    }
  }
  return out;
}

// The PNG keyword rule; libpng would otherwise rewrite a bad keyword with only a warning.
std::string keyword_latin1(const std::string& name, const std::string& key) {
  const auto cps = decode_utf8(key);
  if (!cps) fail(name + ": text key '" + key + "' is not valid UTF-8");
  std::string out;
  for (char32_t c : *cps) {
    if (!((c >= 0x20 && c <= 0x7e) || (c >= 0xa1 && c <= 0xff))) {
      fail(name + ": text key '" + key + "' must hold only printable Latin-1 characters");
    }
    out.push_back(char(c));
  }
  if (out.empty() || out.size() > 79 || out.front() == ' ' || out.back() == ' ' ||
      out.find("  ") != std::string::npos) {
    fail(name + ": text key '" + key + "' must be 1 to 79 characters without leading, trailing or double spaces");
  }
  return out;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image8& image, const PngText& text, const std::string& p) {
  if (image.channels != 3 && image.channels != 4) {
    fail(p + ": an image to write must have 3 or 4 channels, got " + std::to_string(image.channels));
  }
  if (image.width <= 0 || image.height <= 0) {
    fail(p + ": image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " is not a valid PNG size");
  }
  const size_t row_bytes = size_t(image.width) * size_t(image.channels);
  if (image.pixels.size() != row_bytes * size_t(image.height)) {
    fail(p + ": image of " + std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
         std::to_string(image.channels) + " needs " + std::to_string(row_bytes * size_t(image.height)) +
         " bytes, got " + std::to_string(image.pixels.size()));
  }

  // Strings libpng reads from; they outlive the write step.
  std::vector<std::string> keys, values;
  std::vector<bool> utf8;
  for (const auto& [key, value] : text) {
    keys.push_back(keyword_latin1(p, key));
    const auto cps = decode_utf8(value);
    if (!cps) fail(p + ": the value of text key '" + key + "' is not valid UTF-8");
    bool latin1 = true;
    std::string as_latin1;
    for (char32_t c : *cps) {
      if (c == 0) fail(p + ": the value of text key '" + key + "' contains a NUL character");
      if (c > 0xff) latin1 = false;
      as_latin1.push_back(char(c));
    }
    values.push_back(latin1 ? as_latin1 : value);
    utf8.push_back(!latin1);
  }
  std::vector<png_text> chunks(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    png_text& t = chunks[i];
    t.compression = utf8[i] ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
    t.key = keys[i].data();
    t.text = values[i].data();
    t.text_length = utf8[i] ? 0 : values[i].size();
    t.itxt_length = utf8[i] ? values[i].size() : 0;
    t.lang = nullptr;
    t.lang_key = nullptr;
  }
  std::vector<png_bytep> rows(size_t(image.height));
  for (size_t y = 0; y < rows.size(); ++y) {
    // libpng's row pointers are non-const but it only reads them when writing.
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * row_bytes);
  }

  WriteStruct w(p);
  const int color_type = image.channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB;
  if (!write_step(w.png_, w.info_, png_uint_32(image.width), png_uint_32(image.height), color_type, chunks.data(),
                  int(chunks.size()), rows.data())) {
    fail(p + ": encoding the PNG failed (libpng: " + w.sink_.message + ")");
  }

  return std::vector<uint8_t>(w.out_.data, w.out_.data + w.out_.size);
}

void write_png(const std::filesystem::path& path, const Image8& image, const PngText& text) {
  const std::vector<uint8_t> bytes = encode_png(image, text, path.string());
  write_file_atomically(path, [&](std::ostream& f) {
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  });
}

namespace {

std::vector<uint8_t> read_checked(const std::filesystem::path& path) {
  std::vector<uint8_t> bytes = read_file(path);
  check_declared_size(path.string(), bytes);
  return bytes;
}

// A PNG read into memory with its declared size checked, and libpng's reader past the header.
struct OpenedPng {
  std::string name;
  std::vector<uint8_t> bytes;  // before r, which reads from it
  ReadStruct r;
  Header h{};
  explicit OpenedPng(const std::filesystem::path& path)
      : name(path.string()), bytes(read_checked(path)), r(name, bytes) {
    if (!read_header_step(r.png_, r.info_, &h)) r.fail_with_libpng(name);
  }
};

}  // namespace

Image8 read_png(const std::filesystem::path& path) {
  OpenedPng f(path);
  const std::string& p = f.name;
  ReadStruct& r = f.r;
  Header& h = f.h;
  if ((h.channels != 3 && h.channels != 4) || h.rowbytes != size_t(h.width) * size_t(h.channels)) {
    fail(p + ": decoding gave " + std::to_string(h.channels) + " channels of " + std::to_string(h.rowbytes) +
         " bytes per row, expected 8-bit RGB or RGBA");
  }
  Image8 img{int(h.width), int(h.height), h.channels, std::vector<uint8_t>(h.rowbytes * h.height)};
  std::vector<png_bytep> rows(h.height);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = img.pixels.data() + y * h.rowbytes;
  if (!read_rows_step(r.png_, r.info_, rows.data(), nullptr, &h)) r.fail_with_libpng(p);
  return img;
}

PngText read_png_text(const std::filesystem::path& path) {
  OpenedPng f(path);
  const std::string& p = f.name;
  ReadStruct& r = f.r;
  Header& h = f.h;
  std::vector<uint8_t> scratch(h.rowbytes);
  if (!read_rows_step(r.png_, r.info_, nullptr, scratch.data(), &h)) r.fail_with_libpng(p);
  png_textp text = nullptr;
  const int n = png_get_text(r.png_, r.info_, &text, nullptr);
  PngText out;
  for (int i = 0; i < n; ++i) {
    const png_text& t = text[i];
    const bool itxt = t.compression == PNG_ITXT_COMPRESSION_NONE || t.compression == PNG_ITXT_COMPRESSION_zTXt;
    std::string key = latin1_to_utf8(t.key, std::strlen(t.key));
    std::string value = !t.text ? std::string()
                        : itxt  ? std::string(t.text, t.itxt_length)
                                : latin1_to_utf8(t.text, t.text_length);
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace ezivk::io
