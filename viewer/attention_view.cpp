#include "viewer/attention_view.h"

#include <algorithm>
#include <cstdio>

namespace ezivk::viewer {

void draw_heat(const Placed& at, const std::vector<float>& values, int gw, int gh) {
  if (gw < 1 || gh < 1 || values.size() != size_t(gw) * size_t(gh)) return;
  const float top = std::max(*std::max_element(values.begin(), values.end()), 1e-12f);
  const float cw = at.size.x / float(gw), ch = at.size.y / float(gh);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (int y = 0; y < gh; ++y)
    for (int x = 0; x < gw; ++x) {
      const float v = std::clamp(values[size_t(y * gw + x)] / top, 0.f, 1.f);
      const ImVec2 a(at.origin.x + float(x) * cw, at.origin.y + float(y) * ch), b(a.x + cw, a.y + ch);
      dl->AddRectFilled(a, b, IM_COL32(255, int(200 * (1 - v)), 0, int(40 + 180 * v)));
    }
}

namespace {

void outline_cell(const Placed& at, int cell, int gw, int gh, ImU32 colour) {
  const float cw = at.size.x / float(gw), ch = at.size.y / float(gh);
  const ImVec2 a(at.origin.x + float(cell % gw) * cw, at.origin.y + float(cell / gw) * ch);
  ImGui::GetWindowDrawList()->AddRect(a, ImVec2(a.x + cw, a.y + ch), colour, 0.f, 0, 2.f);
}

void draw_marker(const Placed& at, std::pair<float, float> p) {
  const ImVec2 c(at.origin.x + p.first * at.size.x, at.origin.y + p.second * at.size.y);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddCircle(c, 7.f, IM_COL32(0, 0, 0, 255), 16, 4.f);
  dl->AddCircle(c, 7.f, IM_COL32(0, 255, 255, 255), 16, 2.f);
}

// The mouse position inside `at` in 0..1, when it is there.
std::optional<std::pair<float, float>> mouse_in(const Placed& at) {
  const ImVec2 b(at.origin.x + at.size.x, at.origin.y + at.size.y);
  if (!ImGui::IsMouseHoveringRect(at.origin, b) || at.size.x <= 0 || at.size.y <= 0) return std::nullopt;
  const ImVec2 m = ImGui::GetIO().MousePos;
  return std::pair{std::clamp((m.x - at.origin.x) / at.size.x, 0.f, 0.9999f),
                   std::clamp((m.y - at.origin.y) / at.size.y, 0.f, 0.9999f)};
}

}  // namespace

void AttentionView::output_overlay(const Placed& at, const Correspondence* c) {
  if (const auto m = mouse_in(at)) {
    if (!pinned_) point_ = m;
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
      pinned_ = !pinned_ || point_ != m;
      point_ = m;
    }
  }
  if (c && !c->empty()) {
    if (token_) draw_heat(at, c->reverse(*token_, agg_), c->grid_w(), c->grid_h());
    else if (reliance_) draw_heat(at, c->reliance(agg_), c->grid_w(), c->grid_h());
  }
  if (point_) draw_marker(at, c ? c->query_centre(query(*c)) : *point_);
}

std::string AttentionView::aggregation_text(const Correspondence& c) const {
  std::string blocks = agg_.block < 0 ? std::to_string(c.blocks().size()) + " blocks" : c.blocks()[size_t(agg_.block)];
  std::string when = c.round() ? "round " + std::to_string(c.round()) : std::string("first pass");
  const std::string head = c.head() < 0 ? "" : ", head " + std::to_string(c.head());
  return blocks + head + ", " + when +
         (agg_.round_mean ? ", mean of " + std::to_string(c.steps_in_round()) + " steps" +
                                (c.round_heads_mixed() ? " (heads changed in the round)" : "")
                          : ", step " + std::to_string(c.step() + 1));
}

std::optional<int> AttentionView::subject_panel(const Placed& at, const Correspondence* c, int heads, int head) {
  std::optional<int> picked;
  if (heads > 1) {  // a run-time control: the engine captures the chosen head from its next step on
    auto label = [heads](int h) {
      return h < 0 ? "mean of " + std::to_string(heads) + " heads" : "head " + std::to_string(h);
    };
    ImGui::SetNextItemWidth(at.size.x);
    if (ImGui::BeginCombo("##head", label(head).c_str())) {
      for (int h = -1; h < heads; ++h)
        if (ImGui::Selectable(label(h).c_str(), h == head) && h != head) picked = h;
      ImGui::EndCombo();
    }
  }
  if (!c || c->empty()) {
    ImGui::TextWrapped("no capture yet (the subject joins after the split)");
    return picked;
  }
  // Hovering the subject selects a token for the reverse map; a click pins it, a second click releases it.
  if (const auto m = mouse_in(at)) {
    const int t = int(m->second * float(c->side())) * c->side() + int(m->first * float(c->side()));
    if (!token_pinned_) token_ = t;
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) token_pinned_ = !token_pinned_;
  } else if (!token_pinned_) {
    token_.reset();
  }
  const int q = query(*c);
  if (q >= 0) {
    const PointMap pm = c->forward(q, agg_);
    draw_heat(at, pm.probs, c->side(), c->side());
    outline_cell(at, pm.best, c->side(), c->side(), IM_COL32(0, 255, 255, 255));
    ImGui::Text("subject %.1f%% / image %.1f%%", 100.0 * pm.mass, 100.0 * (1.0 - pm.mass));
    ImGui::Text("best (%d,%d) %.1f%%, cycle %s", pm.best % c->side(), pm.best / c->side(),
                100.0 * (pm.probs.empty() ? 0.0 : pm.probs[size_t(pm.best)]), pm.cycle_consistent ? "ok" : "broken");
    if (pm.moved_step || pm.moved_round)
      ImGui::Text("moved %.1f /step, %.1f /round", pm.moved_step.value_or(0.0), pm.moved_round.value_or(0.0));
  } else {
    ImGui::TextWrapped("hover or click the image to pick a point");
  }
  if (token_) outline_cell(at, *token_, c->side(), c->side(), IM_COL32(255, 255, 255, 255));
  ImGui::TextWrapped("%s", aggregation_text(*c).c_str());
  // Aggregation controls.
  const std::string current = agg_.block < 0 ? "all finest blocks" : c->blocks()[size_t(agg_.block)];
  ImGui::SetNextItemWidth(at.size.x);
  if (ImGui::BeginCombo("##blocks", current.c_str())) {
    if (ImGui::Selectable("all finest blocks", agg_.block < 0)) agg_.block = -1;
    for (size_t i = 0; i < c->blocks().size(); ++i)
      if (ImGui::Selectable(c->blocks()[i].c_str(), agg_.block == int(i))) agg_.block = int(i);
    ImGui::EndCombo();
  }
  ImGui::Checkbox("round mean", &agg_.round_mean);
  ImGui::Checkbox("reliance map", &reliance_);
  return picked;
}

void AttentionView::layers_grid(const std::vector<std::pair<std::string, const Correspondence*>>& steps, float cell) const {
  if (steps.empty() || !steps.back().second) {
    ImGui::TextWrapped("no captured step yet (the subject joins after the split)");
    return;
  }
  const Correspondence& last = *steps.back().second;
  const int q = query(last);
  if (q < 0) {
    ImGui::TextWrapped("hover or click the image to pick a point");
    return;
  }
  const float label_w = 110.f;
  ImGui::Dummy(ImVec2(label_w, 0));
  for (const auto& [label, c] : steps) {
    ImGui::SameLine(0, 2);
    ImGui::BeginGroup();
    ImGui::Dummy(ImVec2(cell, 0));
    ImGui::TextUnformatted(label.c_str());
    ImGui::EndGroup();
  }
  for (size_t b = 0; b < last.blocks().size(); ++b) {
    // "down_blocks.0.attentions.1.transformer_blocks.0" -> "down 0.1"
    std::string name = last.blocks()[b];
    const bool down = name.rfind("down", 0) == 0;
    const auto a = name.find("attentions.");
    std::string shortname = std::string(down ? "down " : name.rfind("mid", 0) == 0 ? "mid " : "up ") +
                            name.substr(name.find('.') + 1, 1) + (a == std::string::npos ? "" : "." + name.substr(a + 11, 1));
    ImGui::TextUnformatted(shortname.c_str());
    ImGui::SameLine(label_w + ImGui::GetStyle().WindowPadding.x);
    for (size_t i = 0; i < steps.size(); ++i) {
      if (i) ImGui::SameLine(0, 2);
      const ImVec2 o = ImGui::GetCursorScreenPos();
      ImGui::Dummy(ImVec2(cell, cell));
      const Placed at{o, ImVec2(cell, cell)};
      ImGui::GetWindowDrawList()->AddRectFilled(o, ImVec2(o.x + cell, o.y + cell), IM_COL32(20, 20, 20, 255));
      if (const Correspondence* c = steps[i].second) {
        const PointMap m = c->forward(q, {int(b), false});
        draw_heat(at, m.probs, c->side(), c->side());
        outline_cell(at, m.best, c->side(), c->side(), IM_COL32(0, 255, 255, 255));
      }
    }
  }
}

}  // namespace ezivk::viewer
