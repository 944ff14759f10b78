#pragma once
// Reading a user's picture (subjects, masks, start and source images): PNG through libpng (engine/io/png.h) or
// baseline/progressive JPEG through stb_image, chosen by the file's signature, not its name. Untrusted input: at
// most 8192 × 8192 pixels, and any other file is one Error naming it and what was expected.
#include <filesystem>

#include "engine/io/image.h"

namespace ezivk::io {

// 8-bit RGB, or RGBA when the PNG has alpha (JPEG never does).
Image8 read_image(const std::filesystem::path& path);

}  // namespace ezivk::io
