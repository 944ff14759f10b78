#pragma once
// PNG files through libpng: generated images with their parameters as text chunks, and subject images from
// users. Reading treats the file as untrusted: at most 8192 x 8192 pixels, bounded chunk sizes, CRC errors
// in any chunk rejected, and every failure is one Error naming the file.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/image.h"

namespace ezivk::io {

constexpr int kPngMaxDimension = 8192;

// Key/value pairs, both UTF-8. Keys must be 1-79 printable Latin-1 characters without leading, trailing or
// doubled spaces (the PNG rule). A value that Latin-1 can hold is written as tEXt, any other as uncompressed
// iTXt (UTF-8), which is what PIL and the A1111/ComfyUI readers expect.
using PngText = std::vector<std::pair<std::string, std::string>>;

// 8-bit RGB or RGBA; text chunks go before the image data. Written to a temporary name, then renamed.
void write_png(const std::filesystem::path& path, const Image8& image, const PngText& text = {});
// The PNG file's bytes; `name` labels errors (the path it is meant for).
std::vector<uint8_t> encode_png(const Image8& image, const PngText& text, const std::string& name);

// Any valid PNG up to 8192 x 8192, converted to 8-bit RGB (no alpha in the file) or RGBA (alpha channel or
// tRNS): grey is replicated, palettes expanded, 16-bit samples scaled by rounding v / 257. Sample values
// are returned as stored (gAMA, cHRM and ICC profiles are not applied).
Image8 read_png(const std::filesystem::path& path);

// Every tEXt, zTXt and iTXt chunk in file order, before and after the image data, as UTF-8 (Latin-1 keys and
// tEXt/zTXt values converted; iTXt values returned as stored).
PngText read_png_text(const std::filesystem::path& path);

}  // namespace ezivk::io
