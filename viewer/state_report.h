#pragma once
// What the viewer shows, as JSON: --dump-state, the saved session report, and the parameters saved images carry.
#include <nlohmann/json.hpp>

#include "viewer/args.h"
#include "viewer/generation.h"
#include "viewer/panels.h"

namespace ezivk::viewer {

// The run's parameters (model, prompts, seed, steps, guidance, scheduler, subject settings), to reproduce it.
nlohmann::json settings_json(const RunSettings& r);

// Rounds, status, device, frame statistics and frames during steps, where every panel and picture was drawn, the
// timeline, and the selected point's correspondence map as the panels aggregate it. window_w/h: the window's size;
// swapchains: how many the window has created (1 + recreations after resizes).
nlohmann::json state_json(const RunState& s, const ViewerArgs& a, const FrameStats& frames, int window_w, int window_h,
                          const Panels& panels, int swapchains = 1);

}  // namespace ezivk::viewer
