#pragma once
// SHA-256 (FIPS 180-4), for recording which input files produced an output (subject images in the PNG's
// parameters), not for security decisions.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace ezivk {

std::string sha256_hex(std::span<const uint8_t> data);
// Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace ezivk
