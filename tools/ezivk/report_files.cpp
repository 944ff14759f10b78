#include "tools/ezivk/report_files.h"

#include <cstdio>

namespace ezivk::cli {

ReportFiles::ReportFiles(std::string out) : out_(std::move(out)) {
  set_.add(out_, "--out");
  set_.add(out_ + ".json", "--out's JSON twin");
}

void ReportFiles::write(const std::string& table, const std::string& json) {
  set_.stage(out_, [&](std::ostream& f) { f << table; });
  set_.stage(out_ + ".json", [&](std::ostream& f) { f << json; });
  set_.commit();
  std::printf("wrote %s and %s.json\n", out_.c_str(), out_.c_str());
}

}  // namespace ezivk::cli
