#include "engine/io/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <unistd.h>

#include "engine/util/error.h"

namespace ezivk::io {

void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  const std::string p = path.string();
  // The process id keeps two runs writing the same output from sharing a temporary file.
  std::filesystem::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail(p + ": cannot open " + tmp.string() + " for writing (" + std::strerror(errno) + ")");
    try {
      write(f);
    } catch (...) {
      f.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
    f.flush();
    if (!f) {
      const std::string why = std::strerror(errno);
      f.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      fail(p + ": writing " + tmp.string() + " failed (" + why + ")");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ec2;
    std::filesystem::remove(tmp, ec2);
    fail(p + ": cannot rename " + tmp.string() + " to it (" + ec.message() + ")");
  }
}

}  // namespace ezivk::io
