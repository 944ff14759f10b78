#pragma once
// The correspondence view's interaction and drawing (viewer/correspondence.h holds the numbers): which output point
// is selected (hover, click to pin; --select sets the first), which subject token is selected for the reverse map
// (hover over the subject, click to pin), the aggregation controls, and the overlays: the point's heat map over the
// subject with its best match outlined, the reverse map or the subject-reliance map over the output.
#include <imgui.h>

#include <optional>
#include <string>
#include <utility>

#include "viewer/correspondence.h"

namespace ezivk::viewer {

// A picture's rectangle on screen.
struct Placed {
  ImVec2 origin, size;
};

class AttentionView {
 public:
  explicit AttentionView(std::optional<std::pair<float, float>> select) : point_(select), pinned_(select.has_value()) {}

  // Over the output picture: follows the mouse (unless pinned), draws the reverse or reliance map and the marker.
  void output_overlay(const Placed& at, const Correspondence* c);
  // The subject column's overlay, text and controls, under the subject picture drawn at `at`. `heads`: the captured
  // blocks' head count (0: not known yet), `head`: the head the run captures now (-1 the mean). Returns the head the
  // user picked this frame, if they changed it.
  std::optional<int> subject_panel(const Placed& at, const Correspondence* c, int heads = 0, int head = -1);

  // The selected output point's grid query, or -1.
  int query(const Correspondence& c) const { return point_ ? c.query_at(point_->first, point_->second) : -1; }
  const Aggregation& aggregation() const { return agg_; }
  std::string aggregation_text(const Correspondence& c) const;

  // The blocks x steps grid: for the selected point, one small map per block (rows) and captured step (columns:
  // `steps`, each labelled), to see which layers carry the correspondence and when it settles.
  void layers_grid(const std::vector<std::pair<std::string, const Correspondence*>>& steps, float cell) const;

 private:
  std::optional<std::pair<float, float>> point_;  // the selected output point, 0..1
  bool pinned_ = false;
  std::optional<int> token_;  // the subject token of the reverse map
  bool token_pinned_ = false;
  bool reliance_ = false;
  Aggregation agg_;
};

// values [gw * gh] over `at` as a translucent heat overlay, each cell's share of the largest value.
void draw_heat(const Placed& at, const std::vector<float>& values, int gw, int gh);

}  // namespace ezivk::viewer
