#pragma once
// Writing a file so a reader never sees half of it: everything goes to a fresh temporary name next to `path`, which
// is renamed over `path` only when the whole write succeeded (and removed otherwise). Only a regular file (or
// nothing) is ever replaced: a directory, symlink, device node or FIFO at `path` is an error, so `--json /dev/null`
// run as root cannot turn /dev/null into a regular file. Errors name the path.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace ezivk::io {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

// What write_file_atomically checks, without writing: `path` is nothing or a regular file (not a symlink), and its
// folder exists, is a folder and takes new files (probed by creating and removing one). `what` names the path in
// the error ("--json", "output").
void check_output_path(const std::filesystem::path& path, const std::string& what);

// The temporary name a write to `path` uses: "<path>.tmp<pid>-<n>", created exclusively (O_EXCL) so nothing that
// already exists there is followed or truncated. Writes through `write`; throws (and removes it) on failure.
std::filesystem::path write_temporary(const std::filesystem::path& path,
                                      const std::function<void(std::ostream&)>& write);
// Renames a temporary from write_temporary over `path` after checking once more that `path` is nothing or a
// regular file; removes the temporary and throws otherwise.
void replace_with(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace ezivk::io
