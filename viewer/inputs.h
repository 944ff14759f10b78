#pragma once
// The Inputs panel: the run's settings as editable fields (model, adapter, subject image and caption, prompt,
// negative prompt, seed, steps, guidance, scheduler, split, rounds, size), starting from the launch command line. Run
// turns them back into `ezivk-viewer` arguments and parses them exactly as the command line is parsed, so the window
// and the command line accept the same things and fail with the same messages. A file dropped on the window becomes
// the subject image.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "viewer/args.h"

namespace ezivk::viewer {

class Inputs {
 public:
  explicit Inputs(const std::vector<std::string>& launch_args);

  struct Request {
    ViewerArgs args;
    bool from_sketch = false;  // "Re-run transfer": start at the split from the current run's kept sketch
  };
  // Draws the fields into the current window. Returns the new run's arguments when Run (or, with `can_rerun`,
  // Re-run transfer) was pressed and they parse; otherwise the parse error stays visible under the buttons.
  std::optional<Request> draw(const std::vector<std::string>& dropped_files, bool can_rerun = false);

  void set(const std::string& option, const std::string& value);  // one field, by its option name
  std::string get(const std::string& option) const;
  // The arguments the fields stand for: every non-empty field and the negative prompt even when empty (the field is
  // the negative prompt the run uses; an EZIGen launch without one starts it at EZIGen's default), then the launch
  // options that have no field (for example --precision, --min-rounds), without the ones that end a run headless or
  // write files.
  std::vector<std::string> args() const;

 private:
  std::map<std::string, std::array<char, 1024>> fields_;
  std::vector<std::string> passthrough_;
  std::string error_;
};

}  // namespace ezivk::viewer
