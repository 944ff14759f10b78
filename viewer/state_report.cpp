#include "viewer/state_report.h"

#include <algorithm>
#include <map>
#include <string>

#include "engine/sched/scheduler_config.h"

namespace ezivk::viewer {
namespace {

nlohmann::json rect_json(const std::map<std::string, Layout::Rect>& rects) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, r] : rects) j[name] = {r[0], r[1], r[2], r[3]};
  return j;
}

}  // namespace

nlohmann::json state_json(const RunState& s, const ViewerArgs& a, const FrameStats& frames, int window_w, int window_h,
                          const Panels& panels, int swapchains) {
  const Layout& layout = panels.layout();
  nlohmann::json rounds = nlohmann::json::array();
  for (const auto& r : s.rounds)
    rounds.push_back({{"round", r.round},
                      {"similarity", r.similarity ? nlohmann::json(*r.similarity) : nlohmann::json()},
                      {"stop", r.stop},
                      {"reason", r.reason},
                      {"width", r.image ? r.image->width : 0},
                      {"height", r.image ? r.image->height : 0}});
  nlohmann::json j = {{"status", status_name(s.status)},
                      {"message", s.message},
                      {"device", s.device},
                      {"precision", s.precision},
                      {"queues", s.queues},
                      {"model", a.run.model},
                      {"parameters", settings_json(a.run)},
                      {"steps_done", s.steps_done},
                      {"step_seconds", s.step_seconds},
                      {"rounds", rounds},
                      {"sketch_shown", bool(s.sketch)},
                      {"final_image", s.final_image ? nlohmann::json({{"width", s.final_image->width}, {"height", s.final_image->height}})
                                                    : nlohmann::json()},
                      {"window", {{"width", window_w}, {"height", window_h}, {"swapchains", swapchains}}},
                      {"frame_ms", {{"mean", frames.mean_ms()}, {"max", frames.max_ms()}, {"count", frames.ms.size()},
                                    {"while_running", {{"mean", frames.while_running.mean()}, {"max", frames.while_running.max}, {"count", frames.while_running.count}}},
                                    {"while_loading", {{"mean", frames.while_loading.mean()}, {"max", frames.while_loading.max}, {"count", frames.while_loading.count}}},
                                    {"while_idle", {{"mean", frames.while_idle.mean()}, {"max", frames.while_idle.max}, {"count", frames.while_idle.count}}},
                                    // The last few frame times, oldest first (the idle frames after a run, headless).
                                    {"recent", std::vector<double>(frames.ms.end() - std::min<ptrdiff_t>(8, ptrdiff_t(frames.ms.size())),
                                                                   frames.ms.end())},
                                    {"idle_fps", a.idle_fps}}},
                      // frames_in_step[k]: frames drawn wholly while the step after step k was computing.
                      {"frames_in_step", frames.in_step},
                      {"layout", {{"windows", rect_json(layout.windows)}, {"pictures", rect_json(layout.pictures)}}}};
  if (a.select) j["selected_point"] = {a.select->first, a.select->second};
  if (s.preview_fit) j["preview_fit"] = {{"rmse", s.preview_fit->rmse}, {"samples", s.preview_fit->samples}};
  int captured = 0;
  for (const auto& e : s.timeline) captured += e.correspondence != nullptr;
  j["timeline"] = {{"steps", s.timeline.size()}, {"with_maps", captured}, {"map_bytes", s.timeline_map_bytes},
                   {"layers_columns", panels.layers_columns()}};
  j["device_preview_frames"] = panels.device_preview_frames();
  const AttentionView& view = panels.attention();
  if (const Correspondence* c = s.correspondence.get(); c && !c->empty()) {
    j["correspondence"] = {{"grid", {c->grid_w(), c->grid_h()}}, {"tokens", c->tokens()}, {"blocks", c->blocks()},
                           {"round", c->round()}, {"step", c->step()}, {"head", c->head()},
                           {"heads", s.capture_heads}};
    if (const int q = view.query(*c); q >= 0) {
      const PointMap m = c->forward(q, view.aggregation());
      const int side = std::max(c->side(), 1);
      const auto [px, py] = c->query_centre(q);
      j["map"] = {{"query", q},
                  {"point", {px, py}},  // the grid point the selection falls on: its centre, 0..1
                  {"mass", m.mass},
                  {"argmax_token", m.best},
                  // The best match's centre on the subject image, 0..1, origin top-left.
                  {"argmax", {(double(m.best % side) + 0.5) / side, (double(m.best / side) + 0.5) / side}},
                  {"max_prob", m.probs[size_t(m.best)]},
                  {"tokens", m.probs.size()},
                  {"round", c->round()},
                  {"step", c->step()},
                  {"aggregation", view.aggregation_text(*c)},
                  {"head", c->head()},
                  {"cycle_consistent", m.cycle_consistent},
                  {"back_query", m.back},
                  {"moved_step", m.moved_step ? nlohmann::json(*m.moved_step) : nlohmann::json()},
                  {"moved_round", m.moved_round ? nlohmann::json(*m.moved_round) : nlohmann::json()},
                  {"blocks", c->blocks()}};
    }
  }
  return j;
}


nlohmann::json settings_json(const RunSettings& r) {
  nlohmann::json j = {{"model", r.model}, {"precision", ops::dtype_name(r.dtype)}};
  if (r.ezigen) {
    const auto& e = *r.ezigen;
    j.update({{"mode", "ezigen"}, {"prompt", e.prompt}, {"negative_prompt", e.negative}, {"round_negative", e.round_negative},
              {"seed", e.seed}, {"steps", e.steps}, {"guidance", e.guidance}, {"round_guidance", e.round_guidance},
              {"scheduler", e.scheduler ? sched::scheduler_kind_name(*e.scheduler) : "ddpm"}, {"split", e.split},
              {"t_subject", e.t_subject}, {"adapter", r.adapter.empty() ? nlohmann::json() : nlohmann::json(r.adapter)},
              {"subject_prompts", r.subject_prompts}});
    if (e.rounds.fixed) j["rounds"] = *e.rounds.fixed;
    else j.update({{"min_rounds", e.rounds.min_rounds}, {"max_rounds", e.rounds.max_rounds}, {"threshold", e.rounds.threshold}});
    if (e.width) j["size"] = std::to_string(e.width) + "x" + std::to_string(e.height);
  } else {
    const auto& t = r.t2i;
    j.update({{"mode", "text-to-image"}, {"prompt", t.prompt}, {"negative_prompt", t.negative_prompt}, {"seed", t.seed},
              {"steps", t.steps}, {"guidance", t.guidance},
              {"scheduler", t.scheduler ? sched::scheduler_kind_name(*t.scheduler) : "the folder's"}});
    if (t.width) j["size"] = std::to_string(t.width) + "x" + std::to_string(t.height);
  }
  return j;
}

}  // namespace ezivk::viewer
