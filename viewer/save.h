#pragma once
// Saving what the viewer shows: the final image with its parameters (PNG text chunks), the selected point's
// attention map over the subject (PNG), the session's JSON report, and the rounds or the timeline of x̂0 previews as
// animated GIFs. Files are named after the seed in a chosen folder and written atomically.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "viewer/attention_view.h"
#include "viewer/generation.h"

namespace ezivk::viewer {

struct SaveItems {
  bool image = false, map = false, report = false, rounds_gif = false, timeline_gif = false;
  bool any() const { return image || map || report || rounds_gif || timeline_gif; }
};

// "image,map,report,rounds-gif,timeline-gif" (any subset; "all"); UsageError naming --save otherwise.
SaveItems parse_save_items(const std::string& list);

// The files `items` writes for a run of `seed` in `dir`.
std::vector<std::filesystem::path> save_paths(const SaveItems& items, const std::filesystem::path& dir, uint64_t seed);

// The selected point's map drawn over the subject, enlarged to at least 256 pixels: each token's share of the largest
// as a heat overlay, the best match outlined. Error when there is no map to draw.
io::Image8 map_image(const io::Image8& subject, const PointMap& m, int side);

// Writes `items`; returns the paths written. Error naming the item that cannot be saved yet (no final image, no map,
// no rounds) or the file that could not be written.
std::vector<std::filesystem::path> save_run(const SaveItems& items, const std::filesystem::path& dir, const RunState& s,
                                            const RunSettings& settings, const nlohmann::json& report,
                                            const AttentionView& view);

}  // namespace ezivk::viewer
