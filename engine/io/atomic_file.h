#pragma once
// Writing a file so a reader never sees half of it: everything goes to "<path>.tmp<pid>", which is renamed over `path`
// only when the whole write succeeded (and removed otherwise). Errors name the path.
#include <filesystem>
#include <functional>
#include <ostream>

namespace ezivk::io {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

}  // namespace ezivk::io
