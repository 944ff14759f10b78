#pragma once
// The viewer's ImGui panels, drawn from a copy of the run's state each frame.
#include <deque>
#include <optional>
#include <utility>

#include "engine/io/image.h"
#include "viewer/generation.h"

namespace ezivk::viewer {

struct FrameStats {
  std::deque<double> ms;  // recent frame times
  double mean_ms() const;
  double max_ms() const;
};

struct PanelActions {
  bool stop = false;
};

// An approximate RGB picture of a latent [B, C, h, w] (item 0): its first three channels, each stretched over its own
// range. Cheap enough for every step; a fitted per-model projection replaces it later.
io::Image8 latent_preview(const pipeline::Snapshot& latent);

// `select`: the output point whose attention the map shows (marked on the image).
PanelActions draw_panels(const RunState& s, const RunSettings& settings, const FrameStats& frames,
                         uint64_t device_bytes, const io::Image8* preview, std::optional<std::pair<float, float>> select);

}  // namespace ezivk::viewer
