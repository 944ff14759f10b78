#include "viewer/panels.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "engine/eval/picture_difference.h"
#include "engine/gpu/memory.h"

namespace ezivk::viewer {

double FrameStats::mean_ms() const { return ms.empty() ? 0 : std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size()); }
double FrameStats::max_ms() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }

LatentProjection stretch_projection(const pipeline::Snapshot& latent) {
  LatentProjection p;
  if (latent.shape.size() != 4) return p;
  const int64_t c = latent.shape[1], hw = latent.shape[2] * latent.shape[3];
  for (int64_t ch = 0; ch < std::min<int64_t>(c, 3); ++ch) {
    const float* v = latent.values.data() + ch * hw;
    const auto [lo, hi] = std::minmax_element(v, v + hw);
    const float range = std::max(*hi - *lo, 1e-6f);
    p.proj[size_t(ch * 4 + ch)] = 1.f / range;
    p.bias[size_t(ch)] = -*lo / range;
  }
  return p;
}

namespace {

std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s < 1 ? "%.0f ms" : "%.2f s", s < 1 ? s * 1000 : s);
  return b;
}

}  // namespace

Placed Panels::place(const std::string& name, Picture& pic, float side, const View& view) {
  const ImVec2 o = ImGui::GetCursorScreenPos();
  const Placed at{o, renderer_.draw(pic, side, view)};
  layout_.pictures[name] = {at.origin.x, at.origin.y, at.size.x, at.size.y};
  return at;
}

void Panels::compare(const RunState& s, float side) {
  // The pictures to compare: the sketch's x̂0, the first pass and every round.
  std::vector<std::pair<std::string, pipeline::ImagePtr>> pics;
  if (s.sketch) pics.push_back({"sketch", s.sketch});
  for (const auto& r : s.rounds)
    if (r.image) pics.push_back({r.round ? "round " + std::to_string(r.round) : "first pass", r.image});
  if (pics.size() < 2) {
    ImGui::Text("two pictures are needed (the sketch, the first pass, rounds)");
    return;
  }
  if (compare_b_ < 0) compare_b_ = int(pics.size()) - 1;
  if (compare_b_latest_) compare_b_ = int(pics.size()) - 1;  // B follows the newest picture until one is chosen
  compare_a_ = std::clamp(compare_a_, 0, int(pics.size()) - 1);
  compare_b_ = std::clamp(compare_b_, 0, int(pics.size()) - 1);
  auto combo = [&](const char* id, int& which) {
    ImGui::SetNextItemWidth(side);
    bool chosen = false;
    if (ImGui::BeginCombo(id, pics[size_t(which)].first.c_str())) {
      for (size_t i = 0; i < pics.size(); ++i)
        if (ImGui::Selectable(pics[i].first.c_str(), which == int(i))) which = int(i), chosen = true;
      ImGui::EndCombo();
    }
    return chosen;
  };
  const auto& a = pics[size_t(compare_a_)].second;
  const auto& b = pics[size_t(compare_b_)].second;
  if (a != diff_a_ || b != diff_b_) {
    diff_a_ = a, diff_b_ = b;
    diff_ = std::make_shared<const io::Image8>(eval::difference_image(*a, *b, 4));
    diff_mean_ = eval::mean_abs_difference(*a, *b);
  }
  ImGui::BeginGroup();
  combo("##a", compare_a_);
  compare_pics_[0].set(ctx_, a);
  place("compare_a", compare_pics_[0], side);
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  if (combo("##b", compare_b_)) compare_b_latest_ = false;
  compare_pics_[1].set(ctx_, b);
  place("compare_b", compare_pics_[1], side);
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::Text("|A - B| x4, mean %.1f", diff_mean_);
  compare_pics_[2].set(ctx_, diff_);
  place("compare_diff", compare_pics_[2], side);
  ImGui::EndGroup();
}

PanelActions Panels::draw(const RunState& s, const RunSettings& settings, const FrameStats& frames, uint64_t device_bytes,
                          Inputs* inputs, const std::vector<std::string>& dropped) {
  layout_ = {};
  auto show = [&](const std::string& name, Picture& pic, float side) { return place(name, pic, side); };
  auto end_window = [&](const char* name) {
    const ImVec2 p = ImGui::GetWindowPos(), z = ImGui::GetWindowSize();
    layout_.windows[name] = {p.x, p.y, z.x, z.y};
    ImGui::End();
  };
  PanelActions act;
  const ImGuiIO& io = ImGui::GetIO();
  const float W = io.DisplaySize.x, H = io.DisplaySize.y;
  const float left = std::min(360.f, W * 0.3f);

  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(left, H));
  ImGui::Begin("Run", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
  ImGui::TextWrapped("model: %s", settings.model.c_str());
  ImGui::TextWrapped("prompt: %s", settings.ezigen ? settings.ezigen->prompt.c_str() : settings.t2i.prompt.c_str());
  ImGui::Text("seed %llu", (unsigned long long)(settings.ezigen ? settings.ezigen->seed : settings.t2i.seed));
  if (settings.ezigen) ImGui::Text("subjects: %zu, adapter: %s", settings.subject_images.size(),
                                   settings.adapter.empty() ? "(reference attention)" : settings.adapter.c_str());
  ImGui::Separator();
  ImGui::Text("status: %s", status_name(s.status));
  if (!s.message.empty()) ImGui::TextWrapped("%s", s.message.c_str());
  if (s.step_total > 0) {
    const float frac = float(s.step_index + 1) / float(s.step_total);
    char label[64];
    std::snprintf(label, sizeof label, "%s %d/%d", pipeline::phase_name(s.phase), s.step_index + 1, s.step_total);
    ImGui::ProgressBar(frac, ImVec2(-1, 0), label);
  }
  if (s.round > 0) ImGui::Text("round %d", s.round);
  if (s.step_seconds.size() > 1) {
    const double later = std::accumulate(s.step_seconds.begin() + 1, s.step_seconds.end(), 0.0) / double(s.step_seconds.size() - 1);
    ImGui::Text("%.2f it/s (%s per step after the first)", later > 0 ? 1.0 / later : 0.0, seconds_text(later).c_str());
  }
  if (!s.stages.empty()) {
    std::string t = "stages:";
    for (const auto& [name, sec] : s.stages) t += " " + name + " " + seconds_text(sec) + ",";
    t.pop_back();
    ImGui::TextWrapped("%s", t.c_str());
  }
  ImGui::Separator();
  ImGui::TextWrapped("device: %s", s.device.c_str());
  ImGui::Text("precision: %s", s.precision.c_str());
  ImGui::TextWrapped("queues: %s", s.queues.c_str());
  ImGui::Text("device memory: %s", gpu::format_bytes(device_bytes).c_str());
  ImGui::Text("frame: %.1f ms mean, %.1f ms max", frames.mean_ms(), frames.max_ms());
  if (s.status == RunState::Status::Running || s.status == RunState::Status::Loading) {
    if (ImGui::Button("Stop")) act.stop = true;
    if (s.status == RunState::Status::Running) {
      ImGui::SameLine();
      if (ImGui::Button(s.paused ? "Resume" : "Pause")) act.pause = !s.paused;
      ImGui::SameLine();
      if (ImGui::Button("Step")) act.step = true;
      if (s.paused) ImGui::Text("paused after step %d", s.step_index + 1);
    }
  }
  ImGui::Separator();
  ImGui::Text("save:");
  ImGui::SameLine();
  act.save.image = ImGui::SmallButton("image");
  ImGui::SameLine();
  act.save.map = ImGui::SmallButton("map");
  ImGui::SameLine();
  act.save.report = ImGui::SmallButton("report");
  act.save.rounds_gif = ImGui::SmallButton("rounds GIF");
  ImGui::SameLine();
  act.save.timeline_gif = ImGui::SmallButton("timeline GIF");
  if (!notice_.empty()) ImGui::TextWrapped("%s", notice_.c_str());
  if (inputs) {
    ImGui::Separator();
    // Open when a file is dropped, so the new subject is seen.
    if (!dropped.empty()) ImGui::SetNextItemOpen(true);
    if (ImGui::CollapsingHeader("Inputs")) act.rerun = inputs->draw(dropped, s.kept_sketch.has_value() && s.status != RunState::Status::Running);
  }
  end_window("Run");

  ImGui::SetNextWindowPos(ImVec2(left, 0));
  ImGui::SetNextWindowSize(ImVec2(W - left, H * 0.62f));
  ImGui::Begin("Image", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
  // Within the window's content area: the output at half its width, the subject and sketch side by side in the rest
  // (two item spacings between the three).
  const float avail = ImGui::GetContentRegionAvail().x, gap = ImGui::GetStyle().ItemSpacing.x;
  const float side = std::max(16.f, std::min(avail * 0.5f, H * 0.62f - 90.f));
  // A column as wide as its picture: its text wraps instead of widening it and pushing the next one off the window.
  auto begin_column = [](float width) {
    ImGui::BeginGroup();
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
  };
  auto end_column = [] {
    ImGui::PopTextWrapPos();
    ImGui::EndGroup();
  };
  begin_column(side);
  std::optional<Placed> out;
  // The timeline: live, or a recorded step (its x̂0 and its captures).
  const TimelineEntry* moment = nullptr;
  if (!live_ && !s.timeline.empty()) moment = &s.timeline[size_t(std::clamp(scrub_, 0, int(s.timeline.size()) - 1))];
  const Correspondence* corr = moment ? moment->correspondence.get() : s.correspondence.get();
  auto projection_for = [&](const pipeline::Snapshot& x0) {
    LatentProjection proj;
    if (s.preview_fit) {
      proj.proj = s.preview_fit->proj;
      proj.bias = s.preview_fit->bias;
    } else {
      proj = stretch_projection(x0);
    }
    return proj;
  };
  const char* what = show_latent_ ? "latent" : "x0";
  if (moment && (show_latent_ ? moment->latent : moment->x0)) {
    const auto& src = show_latent_ ? moment->latent : moment->x0;
    ImGui::Text("%s at %s step %d/%d (%s)", what, moment->round ? ("round " + std::to_string(moment->round)).c_str() : "first pass",
                moment->index + 1, moment->total, pipeline::phase_name(moment->phase));
    output_.set(ctx_, src, projection_for(*src));
    out = place("output", output_, side, view_);
  } else if (show_latent_ && s.latent && !s.final_image) {
    ImGui::Text("latent x_t, step %d", s.step_index + 1);
    output_.set(ctx_, s.latent, projection_for(*s.latent));
    out = place("output", output_, side, view_);
  } else if (s.final_image) {
    ImGui::Text("final image");
    output_.set(ctx_, s.final_image);
    out = place("output", output_, side, view_);
  } else if (s.x0) {
    if (s.preview_fit) ImGui::Text("predicted x0 preview, step %d (fitted projection, rmse %.3f)", s.step_index + 1, s.preview_fit->rmse);
    else ImGui::Text("predicted x0 preview, step %d (latent channels 0-2)", s.step_index + 1);
    // The live x̂0 straight from the engine's device slot when there is one (no host copy), else the event's copy.
    if (s.x0_device) output_.set_device(*s.x0_device, projection_for(*s.x0)), ++device_preview_frames_;
    else output_.set(ctx_, s.x0, projection_for(*s.x0));
    out = place("output", output_, side, view_);
  } else {
    ImGui::Text("waiting for the first step");
  }
  if (out) {
    // Zoom (mouse wheel, about the cursor), pan (right or middle drag), back to the whole picture (double click).
    const ImVec2 o = out->origin, z = out->size;
    const ImGuiIO& mio = ImGui::GetIO();
    if (ImGui::IsMouseHoveringRect(o, ImVec2(o.x + z.x, o.y + z.y))) {
      if (mio.MouseWheel != 0.f) {
        const auto [va, vb] = view_.rect(o, z);
        const float px = (mio.MousePos.x - va.x) / (vb.x - va.x), py = (mio.MousePos.y - va.y) / (vb.y - va.y);
        view_.zoom = std::clamp(view_.zoom * std::pow(1.25f, mio.MouseWheel), 1.f, 32.f);
        view_.centre_x = px - (mio.MousePos.x - (o.x + z.x * 0.5f)) / (z.x * view_.zoom);
        view_.centre_y = py - (mio.MousePos.y - (o.y + z.y * 0.5f)) / (z.y * view_.zoom);
      }
      if (ImGui::IsMouseDragging(ImGuiMouseButton_Right) || ImGui::IsMouseDragging(ImGuiMouseButton_Middle)) {
        view_.centre_x -= mio.MouseDelta.x / (z.x * view_.zoom);
        view_.centre_y -= mio.MouseDelta.y / (z.y * view_.zoom);
      }
      if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) view_ = View{};
    }
    const float half = 0.5f / view_.zoom;
    view_.centre_x = std::clamp(view_.centre_x, half, 1.f - half);
    view_.centre_y = std::clamp(view_.centre_y, half, 1.f - half);
    const auto [va, vb] = view_.rect(o, z);
    layout_.pictures["output_view"] = {va.x, va.y, vb.x - va.x, vb.y - va.y};
    ImGui::PushClipRect(o, ImVec2(o.x + z.x, o.y + z.y), true);
    attention_.output_overlay(Placed{va, ImVec2(vb.x - va.x, vb.y - va.y)}, corr);
    ImGui::PopClipRect();
    if (view_.zoom > 1.f) {
      ImGui::SameLine();
      ImGui::Text("x%.1f", view_.zoom);
    }
  }
  ImGui::Checkbox("latent x_t (not predicted x0)", &show_latent_);
  if (s.x0 && !s.final_image) {
    ImGui::SameLine();
    if (ImGui::SmallButton("VAE decode")) act.decode = true;
  }
  end_column();
  const float small = std::max(8.f, std::min(side * 0.5f, (avail - side - 2.f * gap) * 0.5f));
  if (s.subject) {
    ImGui::SameLine();
    begin_column(small);
    ImGui::Text("subject attention");
    subject_.set(ctx_, s.subject);
    act.capture_head = attention_.subject_panel(show("subject", subject_, small), corr, s.capture_heads, s.capture_head);
    end_column();
  }
  if (s.sketch) {
    ImGui::SameLine();
    begin_column(small);
    ImGui::Text("sketch");
    sketch_.set(ctx_, s.sketch);
    show("sketch", sketch_, small);
    end_column();
  }
  if (s.decoded) {
    ImGui::SameLine();
    begin_column(small);
    ImGui::Text("VAE decode, %s step %d", s.decoded_round ? ("round " + std::to_string(s.decoded_round)).c_str() : "first pass",
                s.decoded_step + 1);
    decoded_.set(ctx_, s.decoded);
    show("decoded", decoded_, small);
    end_column();
  }
  end_window("Image");

  ImGui::SetNextWindowPos(ImVec2(left, H * 0.62f));
  ImGui::SetNextWindowSize(ImVec2(W - left, H * 0.38f));
  ImGui::Begin("Rounds", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                      ImGuiWindowFlags_HorizontalScrollbar);
  // The timeline scrubber: live follows the run; otherwise the Image panel shows the chosen step.
  if (!s.timeline.empty()) {
    ImGui::Checkbox("live", &live_);
    ImGui::SameLine();
    int pos = live_ ? int(s.timeline.size()) - 1 : std::clamp(scrub_, 0, int(s.timeline.size()) - 1);
    const TimelineEntry& e = s.timeline[size_t(pos)];
    char label[96];
    std::snprintf(label, sizeof label, "%s, step %d/%d (%s)", e.round ? ("round " + std::to_string(e.round)).c_str() : "first pass",
                  e.index + 1, e.total, pipeline::phase_name(e.phase));
    ImGui::SetNextItemWidth(-1);
    if (ImGui::SliderInt("##timeline", &pos, 0, int(s.timeline.size()) - 1, label)) live_ = false;
    scrub_ = pos;
  }
  auto tab_flags = [&](const char* name) {
    return first_tab_ == name ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None;
  };
  if (ImGui::BeginTabBar("bottom")) {
    if (ImGui::BeginTabItem("Rounds", nullptr, tab_flags("rounds"))) {
      if (s.rounds.empty()) ImGui::Text(settings.ezigen ? "no round finished yet" : "text-to-image: no transfer rounds");
      std::vector<float> sims;
      for (const auto& r : s.rounds)
        if (r.similarity) sims.push_back(float(*r.similarity));
      if (sims.size() >= 1) {
        char overlay[48];
        std::snprintf(overlay, sizeof overlay, "similarity per round (last %.4f)", sims.back());
        ImGui::PlotLines("##similarity", sims.data(), int(sims.size()), 0, overlay, 0.f, 1.f, ImVec2(-1, 40));
      }
      const float thumb = std::max(40.f, H * 0.38f - 195.f);
      for (size_t i = 0; i < s.rounds.size(); ++i) {
        const auto& r = s.rounds[i];
        if (i) ImGui::SameLine();
        ImGui::BeginGroup();
        ImGui::Text(r.round == 0 ? "first pass" : "round %d", r.round);
        if (rounds_.size() <= i) rounds_.push_back(std::make_unique<Picture>());
        rounds_[i]->set(ctx_, r.image);
        show("round" + std::to_string(i), *rounds_[i], thumb);
        if (r.similarity) ImGui::Text("sim %.4f%s", *r.similarity, r.stop ? " stop" : "");
        else ImGui::Text(r.stop ? "stop" : " ");
        ImGui::EndGroup();
      }
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Compare", nullptr, tab_flags("compare"))) {
      compare(s, std::max(40.f, H * 0.38f - 160.f));
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Layers", nullptr, tab_flags("layers"))) {
      std::vector<std::pair<std::string, const Correspondence*>> steps;
      std::vector<const TimelineEntry*> captured;
      for (const auto& e : s.timeline)
        if (e.correspondence) captured.push_back(&e);
      const size_t cols = std::min<size_t>(captured.size(), 16);
      for (size_t i = 0; i < cols; ++i) {  // evenly over the captured steps, the latest last
        const TimelineEntry* e = captured[cols == 1 ? captured.size() - 1 : i * (captured.size() - 1) / (cols - 1)];
        // "p7": first pass, step 7; "2:7": round 2, step 7.
        steps.push_back({(e->round ? std::to_string(e->round) + ":" : std::string("p")) + std::to_string(e->index + 1),
                         e->correspondence.get()});
      }
      if (s.timeline_map_bytes > 0 && captured.size() < size_t(std::count_if(s.timeline.begin(), s.timeline.end(),
                                                                           [](const TimelineEntry& e) { return e.phase != pipeline::Phase::Sketch; })))
        ImGui::TextWrapped("(maps kept for the first %zu captured steps: the timeline's memory budget)", captured.size());
      attention_.layers_grid(steps, 30.f);
      layers_columns_ = int(steps.size());
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
    first_tab_.clear();  // only the first frame chooses
  }
  end_window("Rounds");
  return act;
}

}  // namespace ezivk::viewer
