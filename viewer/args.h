#pragma once
// ezivk-viewer's command line: the generation flags of `ezivk generate` (a run starts at launch) plus the viewer's
// own (--select, --headless-screenshot, --dump-state, --window, --submit-every).
#include <optional>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "viewer/generation.h"
#include "viewer/save.h"

namespace ezivk::viewer {

extern const char* kUsage;

struct ViewerArgs {
  RunSettings run;
  std::optional<std::pair<float, float>> select;  // a point of the output, 0..1, origin top-left
  std::string screenshot, dump_state;
  int width = 1280, height = 800;
  // Pieces of generation's submits (Recorder::set_submit_every). Unset: 64 where the window shares the device's one
  // queue, 0 (whole steps) where it has a queue of its own.
  std::optional<uint32_t> submit_every;
  // On a shared queue without --submit-every: pieces adapt to take about this long (0: 64 commands, fixed). Unset:
  // 100 ms on a CPU driver (its frames are slow anyway), 25 on a GPU.
  std::optional<double> piece_ms;
  bool shared_queue = false;
  // No window and no display: frames are drawn into an image of the device (viewer/window.h); needs
  // --headless-screenshot or --dump-state, which end the run.
  bool offscreen = false;  // keep the window on generation's queue even where the device has a second (to compare)
  // Frames are drawn when something happens (input, a change of the run's state) and otherwise this often; 0 draws
  // continuously. On a CPU driver every frame is rasterised on the cores that generate.
  double idle_fps = 4;
  std::string tab = "rounds";  // the bottom panel's first tab: rounds, compare or layers
  int idle_frames = 3;         // frames drawn after the run ends before --headless-screenshot / --dump-state exit
  float zoom = 1.f;  // the output picture's zoom at start (wheel zooms, right or middle drag pans)
  std::optional<int> close_at;  // steps done: close the window then, mid-run (tests, demos)
  std::optional<std::tuple<int, int, int>> resize_at;  // (steps done, width, height): resize the window then (tests, demos)
  SaveItems save;              // written when the run finishes (--save), into save_dir
  std::string save_dir = ".";
  bool help = false;
};

// UsageError naming the option for anything wrong; subject images are read here (a bad one fails before the window).
ViewerArgs parse_args(const std::vector<std::string>& args);

// Without --model the viewer opens on the demo model (models/demo; EZIVK_DEMO_DIR overrides where it is) with one
// of its sample subjects: `args` with the demo's model, adapter, subject, prompts and settings put first for every
// one of those options the user did not give. With --model, `args` unchanged.
std::vector<std::string> with_demo_defaults(const std::vector<std::string>& args);

}  // namespace ezivk::viewer
