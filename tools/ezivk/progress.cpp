#include "tools/ezivk/progress.h"

#include <unistd.h>

#include <cmath>

namespace ezivk::cli {

Progress::Progress(FILE* out) : out_(out), tty_(isatty(fileno(out)) != 0) {}

std::string format_duration(double s) {
  char b[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) std::snprintf(b, sizeof b, "%.1fs", s);
  else if (s < 3600) std::snprintf(b, sizeof b, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(b, sizeof b, "%dh%02dm", int(s) / 3600, int(s) % 3600 / 60);
  return b;
}

void Progress::step(int done, int total, double last, const std::string& detail) {
  // The first step builds pipelines; the rate and ETA use the later ones once there are any.
  if (done > 1) {
    sum_ += last;
    ++count_;
  }
  const double per = count_ ? sum_ / count_ : last;
  char rate[32] = "";
  if (per > 0 && per < 1) std::snprintf(rate, sizeof rate, "%.2f it/s", 1 / per);
  else if (per > 0) std::snprintf(rate, sizeof rate, "%.2f s/it", per);
  const std::string eta = format_duration(per * (total - done));
  if (tty_) {
    const int width = 30, filled = total ? done * width / total : width;
    std::fprintf(out_, "\r[%s%s] %d/%d %s ETA %s %s\x1b[K", std::string(size_t(filled), '#').c_str(),
                 std::string(size_t(width - filled), '.').c_str(), done, total, rate, eta.c_str(), detail.c_str());
    open_ = true;
  } else {
    std::fprintf(out_, "step %d/%d %s ETA %s %s\n", done, total, rate, eta.c_str(), detail.c_str());
  }
  std::fflush(out_);
}

void Progress::line(const std::string& text) {
  if (open_) std::fputc('\n', out_);
  open_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Progress::finish() {
  if (open_) std::fputc('\n', out_);
  open_ = false;
  std::fflush(out_);
}

}  // namespace ezivk::cli
