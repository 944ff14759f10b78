#include "engine/io/output_set.h"

#include "engine/io/atomic_file.h"
#include "engine/util/error.h"

namespace ezivk::io {

namespace fs = std::filesystem;

OutputSet::~OutputSet() {
  for (auto& e : entries_)
    if (!e.tmp.empty()) {
      std::error_code ec;
      fs::remove(e.tmp, ec);  // never throws: a destructor may run while an exception is in flight
    }
}

void OutputSet::check_new(const fs::path& path, const std::string& what, bool final) {
  check_output_path(path, what);
  std::error_code ec;
  fs::path key = fs::weakly_canonical(fs::absolute(path), ec);
  if (ec) key = fs::absolute(path).lexically_normal();
  for (const auto& e : entries_)
    if (e.key == key)
      fail(what + " '" + path.string() + "' is the same file as " + e.what + " '" + e.path.string() +
           "'; every output needs its own path");
  entries_.push_back({path, key, {}, what, final});
}

void OutputSet::add(const fs::path& path, const std::string& what) { check_new(path, what, true); }

void OutputSet::reserve(const fs::path& path, const std::string& what) { check_new(path, what, false); }

OutputSet::Entry& OutputSet::find(const fs::path& path) {
  for (auto& e : entries_)
    if (e.final && e.path == path) return e;
  fail("output '" + path.string() + "' was not added to the run's outputs before being written");
}

void OutputSet::stage(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  Entry& e = find(path);
  if (!e.tmp.empty()) {
    std::error_code ec;
    fs::remove(e.tmp, ec);
    e.tmp.clear();
  }
  e.tmp = write_temporary(path, write);
}

void OutputSet::commit() {
  for (const auto& e : entries_)
    if (e.final && e.tmp.empty()) fail(e.what + " '" + e.path.string() + "' was never written; nothing was saved");
  for (auto& e : entries_) {
    if (!e.final) continue;
    fs::path tmp = std::move(e.tmp);
    e.tmp.clear();
    replace_with(tmp, e.path);
  }
}

}  // namespace ezivk::io
