#include "viewer/panels.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

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

PanelActions Panels::draw(const RunState& s, const RunSettings& settings, const FrameStats& frames, uint64_t device_bytes) {
  layout_ = {};
  auto show = [&](const std::string& name, Picture& pic, float side) {
    const ImVec2 o = ImGui::GetCursorScreenPos();
    const Placed at{o, renderer_.draw(pic, side)};
    layout_.pictures[name] = {at.origin.x, at.origin.y, at.size.x, at.size.y};
    return at;
  };
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
  ImGui::Separator();
  ImGui::TextWrapped("device: %s", s.device.c_str());
  ImGui::Text("precision: %s", s.precision.c_str());
  ImGui::Text("device memory: %s", gpu::format_bytes(device_bytes).c_str());
  ImGui::Text("frame: %.1f ms mean, %.1f ms max", frames.mean_ms(), frames.max_ms());
  if (s.status == RunState::Status::Running || s.status == RunState::Status::Loading) {
    if (ImGui::Button("Stop")) act.stop = true;
  }
  end_window("Run");

  ImGui::SetNextWindowPos(ImVec2(left, 0));
  ImGui::SetNextWindowSize(ImVec2(W - left, H * 0.62f));
  ImGui::Begin("Image", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse);
  // Within the window's content area: the output at half its width, the subject and sketch side by side in the rest
  // (two item spacings between the three).
  const float avail = ImGui::GetContentRegionAvail().x, gap = ImGui::GetStyle().ItemSpacing.x;
  const float side = std::max(16.f, std::min(avail * 0.5f, H * 0.62f - 60.f));
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
  if (s.final_image) {
    ImGui::Text("final image");
    output_.set(ctx_, s.final_image);
    out = show("output", output_, side);
  } else if (s.x0) {
    LatentProjection proj;
    if (s.preview_fit) {
      ImGui::Text("x̂0 preview, step %d (fitted projection, rmse %.3f)", s.step_index + 1, s.preview_fit->rmse);
      proj.proj = s.preview_fit->proj;
      proj.bias = s.preview_fit->bias;
    } else {
      ImGui::Text("x̂0 preview, step %d (latent channels 0-2)", s.step_index + 1);
      proj = stretch_projection(*s.x0);
    }
    output_.set(ctx_, s.x0, proj);
    out = show("output", output_, side);
  } else {
    ImGui::Text("waiting for the first step");
  }
  if (out) attention_.output_overlay(*out, s.correspondence.get());
  end_column();
  const float small = std::max(8.f, std::min(side * 0.5f, (avail - side - 2.f * gap) * 0.5f));
  if (s.subject) {
    ImGui::SameLine();
    begin_column(small);
    ImGui::Text("subject attention");
    subject_.set(ctx_, s.subject);
    attention_.subject_panel(show("subject", subject_, small), s.correspondence.get());
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
  end_window("Image");

  ImGui::SetNextWindowPos(ImVec2(left, H * 0.62f));
  ImGui::SetNextWindowSize(ImVec2(W - left, H * 0.38f));
  ImGui::Begin("Rounds", nullptr, ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                      ImGuiWindowFlags_HorizontalScrollbar);
  if (s.rounds.empty()) ImGui::Text(settings.ezigen ? "no round finished yet" : "text-to-image: no transfer rounds");
  const float thumb = std::max(48.f, H * 0.38f - 90.f);
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
  end_window("Rounds");
  return act;
}

}  // namespace ezivk::viewer
