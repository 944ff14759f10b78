#pragma once
// The final outputs of one run (image or images, report): every path is checked before any work (distinct from the
// others, a writable folder, a regular file or nothing there), each is written to a temporary name as it is ready,
// and all are renamed into place together by commit() only when every one was written. A run that fails or is
// interrupted leaves no new file and every old one untouched; the destructor removes uncommitted temporaries.
// Progress artifacts (saved rounds) are not part of the set: they go out one by one through write_file_atomically,
// but reserve() checks their paths up front and keeps them apart from the final outputs.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace ezivk::io {

class OutputSet {
 public:
  OutputSet() = default;
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;
  ~OutputSet();

  // A final output; `what` names it in errors ("--out", "--json"). Checks the path now.
  void add(const std::filesystem::path& path, const std::string& what);
  // A progress artifact written elsewhere: checked now and kept distinct from every other path.
  void reserve(const std::filesystem::path& path, const std::string& what);
  // Writes the content of an added path to its temporary name.
  void stage(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);
  // Renames every staged temporary into place. Throws, renaming nothing, if an added path was never staged.
  void commit();

 private:
  struct Entry {
    std::filesystem::path path, key, tmp;
    std::string what;
    bool final = true;
  };
  Entry& find(const std::filesystem::path& path);
  void check_new(const std::filesystem::path& path, const std::string& what, bool final);
  std::vector<Entry> entries_;
};

}  // namespace ezivk::io
