#pragma once
// The viewer's ImGui panels, drawn from a copy of the run's state each frame.
#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <optional>
#include <utility>

#include "engine/io/image.h"
#include "viewer/attention_view.h"
#include "viewer/generation.h"
#include "viewer/inputs.h"
#include "viewer/save.h"
#include "viewer/picture_renderer.h"

namespace ezivk::viewer {

struct FrameStats {
  std::deque<double> ms;  // recent frame times
  struct Summary {  // every frame of one kind since the start
    double sum = 0, max = 0;
    int count = 0;
    void add(double v) { sum += v, max = std::max(max, v), ++count; }
    double mean() const { return count ? sum / count : 0.0; }
  } while_running, while_loading, while_idle;  // frames begun while a run computed, loaded (model, pipelines), or neither
  // in_step[k]: frames drawn from start to end while UNet step k + 1 (or the work after step k) was in flight, so
  // no step finished during them; k >= 1. The count that shows the UI never waits for a whole step.
  std::vector<int> in_step;
  double mean_ms() const;
  double max_ms() const;
};

struct PanelActions {
  bool stop = false;
  std::optional<bool> pause;  // set: pause (true) or resume (false)
  bool step = false;          // one more step, then hold
  bool decode = false;        // a full VAE decode of the latest x̂0
  std::optional<int> capture_head;  // the head the maps should show from the next step (-1 the mean)
  SaveItems save;  // the Save buttons pressed this frame
  std::optional<Inputs::Request> rerun;  // Run or Re-run transfer pressed in the Inputs panel, arguments that parse
};

// Where the last frame put each window and picture, in window pixels (x, y, width, height): what --dump-state
// reports so a test can find the panels in the screenshot.
struct Layout {
  using Rect = std::array<float, 4>;
  std::map<std::string, Rect> windows, pictures;
};

// The preview projection until a fitted per-model one replaces it: latent channels 0-2 of item 0 as red, green and
// blue, each stretched over its own range in this latent.
LatentProjection stretch_projection(const pipeline::Snapshot& latent);

// The windows, and the pictures they show (kept between frames: a picture uploads only when its source changes).
class Panels {
 public:
  // `select`: the output point whose attention the map shows first (pinned).
  // `tab`: the bottom panel's tab to open first (rounds, compare, layers).
  Panels(gpu::Context& ctx, PictureRenderer& renderer, std::optional<std::pair<float, float>> select, std::string tab,
         float zoom = 1.f)
      : ctx_(ctx), renderer_(renderer), attention_(select), view_{zoom, 0.5f, 0.5f}, first_tab_(std::move(tab)) {}
  // `inputs` (may be null): the editable settings, drawn in the Run window; `dropped`: files dropped on the window.
  PanelActions draw(const RunState& s, const RunSettings& settings, const FrameStats& frames, uint64_t device_bytes,
                    Inputs* inputs = nullptr, const std::vector<std::string>& dropped = {});
  const AttentionView& attention() const { return attention_; }
  const Layout& layout() const { return layout_; }
  int layers_columns() const { return layers_columns_; }  // steps shown in the Layers tab's last frame
  int device_preview_frames() const { return device_preview_frames_; }  // frames whose live x̂0 came from a device slot
  void set_notice(std::string text) { notice_ = std::move(text); }  // shown under the Save buttons

 private:
  gpu::Context& ctx_;
  PictureRenderer& renderer_;
  Picture output_, subject_, sketch_, decoded_;
  std::vector<std::unique_ptr<Picture>> rounds_;
  Layout layout_;
  AttentionView attention_;
  Placed place(const std::string& name, Picture& pic, float side, const View& view = {});  // draws, records in layout_
  View view_;  // the output picture's zoom and pan
  // The timeline and the Compare tab.
  void compare(const RunState& s, float side);
  std::string first_tab_;
  std::string notice_;
  int layers_columns_ = 0;
  int device_preview_frames_ = 0;
  bool live_ = true;
  bool show_latent_ = false;  // the Image panel shows x_t instead of x̂0
  int scrub_ = 0;
  int compare_a_ = 0, compare_b_ = -1;
  bool compare_b_latest_ = true;
  Picture compare_pics_[3];
  pipeline::ImagePtr diff_a_, diff_b_, diff_;
  double diff_mean_ = 0;
};

}  // namespace ezivk::viewer
