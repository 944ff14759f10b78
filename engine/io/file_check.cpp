#include "engine/io/file_check.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

#include "engine/util/error.h"

namespace ezivk::io {

std::string not_a_file_reason(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errno == ENOENT || errno == ENOTDIR ? "does not exist"
                                               : std::string("cannot be checked (") + std::strerror(errno) + ")";
  if (S_ISREG(st.st_mode)) return "";
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (S_ISFIFO(st.st_mode)) return "is a FIFO";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "is a device node";
  if (S_ISSOCK(st.st_mode)) return "is a socket";
  return "is not a regular file";
}

void expect_file(const std::filesystem::path& path, const std::string& what) {
  const std::string why = not_a_file_reason(path);
  if (!why.empty()) fail(path.string() + ": " + why + " (expected " + what + ")");
}

}  // namespace ezivk::io
