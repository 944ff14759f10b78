#pragma once
// A benchmark's outputs: the table OUT and its JSON twin OUT.json, checked when the benchmark starts (not after
// minutes of measuring) and written together at the end.
#include <string>

#include "engine/io/output_set.h"

namespace ezivk::cli {

class ReportFiles {
 public:
  explicit ReportFiles(std::string out);
  void write(const std::string& table, const std::string& json);

 private:
  std::string out_;
  io::OutputSet set_;
};

}  // namespace ezivk::cli
