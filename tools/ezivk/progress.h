#pragma once
// Step progress for long runs: a redrawn bar (steps, it/s or s/it, ETA) on a terminal, plain lines otherwise.
#include <cstdio>
#include <string>

namespace ezivk::cli {

class Progress {
 public:
  explicit Progress(FILE* out);
  // After step `done` of `total` finished, `last_seconds` being that step's time.
  void step(int done, int total, double last_seconds, const std::string& detail);
  void line(const std::string& text);  // a message that must not be overdrawn
  void finish();

 private:
  FILE* out_;
  bool tty_;
  bool open_ = false;
  double sum_ = 0;
  int count_ = 0;
};

std::string format_duration(double seconds);

}  // namespace ezivk::cli
