#pragma once
// What is at a path where a file is expected, in words: a directory or a FIFO is reported as what it is, not as
// "missing" or as a file that "ends inside the magic".
#include <filesystem>
#include <string>

namespace ezivk::io {

// "" when `path` is a regular file (symlinks followed); otherwise "does not exist", "is a directory", "is a FIFO",
// "is a device node", "is a socket" or "cannot be checked (...)".
std::string not_a_file_reason(const std::filesystem::path& path);
// Error "<path>: <reason> (expected <what>)" unless `path` is a regular file.
void expect_file(const std::filesystem::path& path, const std::string& what);

}  // namespace ezivk::io
