#include "engine/io/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/util/error.h"
#include "engine/util/fault_injection.h"

namespace ezivk::io {

namespace fs = std::filesystem;

namespace {

std::string kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device node";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// Throws unless `path` is absent or a regular file (symlinks are not followed: replacing one would replace the
// link, not what it points to).
void expect_replaceable(const fs::path& path, const std::string& what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // nothing there; the folder check says why if it matters
    fail(what + " '" + path.string() + "': cannot check it (" + std::strerror(errno) + ")");
  }
  if (!S_ISREG(st.st_mode))
    fail(what + " '" + path.string() + "' exists and is " + kind_of(st.st_mode) +
         "; ezivk only ever replaces regular files");
}

fs::path folder_of(const fs::path& path) {
  const fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

std::atomic<unsigned> g_serial{0};

fs::path temporary_name(const fs::path& path) {
  fs::path tmp = path;
  // The process id keeps two runs writing the same output apart; the serial keeps one run's writes apart.
  tmp += ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(g_serial++);
  return tmp;
}

}  // namespace

void check_output_path(const fs::path& path, const std::string& what) {
  if (path.empty()) fail(what + ": the path is empty");
  if (path.filename().empty() || path.filename() == "." || path.filename() == "..")
    fail(what + " '" + path.string() + "' names a folder, not a file");
  expect_replaceable(path, what);
  const fs::path folder = folder_of(path);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0)
    fail(what + " '" + path.string() + "': its folder '" + folder.string() + "' does not exist");
  if (!S_ISDIR(st.st_mode))
    fail(what + " '" + path.string() + "': '" + folder.string() + "' is not a folder");
  // access() says yes to root everywhere, and /proc refuses new files to root too: only trying tells.
  const fs::path probe = temporary_name(path);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    fail(what + " '" + path.string() + "': cannot create files in '" + folder.string() + "' (" +
         std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

fs::path write_temporary(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  const std::string p = path.string();
  const fs::path tmp = temporary_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(p + ": cannot open " + tmp.string() + " for writing (" + std::strerror(errno) + ")");
  ::close(fd);
  auto discard = [&] {
    std::error_code ec;
    fs::remove(tmp, ec);
  };
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) {
    const std::string why = std::strerror(errno);
    discard();
    fail(p + ": cannot open " + tmp.string() + " for writing (" + why + ")");
  }
  try {
    write(f);
    if (faults::should_fail(faults::Kind::Write)) {
      errno = EIO;
      f.setstate(std::ios::badbit);
    }
  } catch (...) {
    f.close();
    discard();
    throw;
  }
  f.flush();
  if (!f) {
    const std::string why = std::strerror(errno);
    f.close();
    discard();
    fail(p + ": writing " + tmp.string() + " failed (" + why + ")");
  }
  f.close();
  if (!f) {
    discard();
    fail(p + ": closing " + tmp.string() + " failed");
  }
  return tmp;
}

void replace_with(const fs::path& tmp, const fs::path& path) {
  std::error_code ec;
  try {
    expect_replaceable(path, "output");
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    fail(path.string() + ": cannot rename " + tmp.string() + " to it (" + ec.message() + ")");
  }
}

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  expect_replaceable(path, "output");
  replace_with(write_temporary(path, write), path);
}

}  // namespace ezivk::io
