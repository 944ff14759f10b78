#include "viewer/inputs.h"

#include <imgui.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "engine/pipeline/ezigen.h"

namespace ezivk::viewer {
namespace {

// Field options in the order they are drawn, with their labels.
const std::vector<std::pair<std::string, std::string>> kFields = {
    {"--model", "model folder"},       {"--adapter", "adapter"},        {"--subject", "subject image"},
    {"--subject-prompt", "caption"},   {"--prompt", "prompt"},          {"--negative", "negative"},
    {"--seed", "seed"},                {"--steps", "steps"},            {"--guidance", "guidance"},
    {"--scheduler", "scheduler"},      {"--split", "split"},            {"--rounds", "rounds"},
    {"--size", "size WxH"}};

// Launch options that are not settings of a run: a run started from the window does not end headless or write files.
bool run_only(const std::string& a) {
  return a == "--headless-screenshot" || a == "--dump-state" || a == "--save" || a == "--save-dir";
}

bool takes_value(const std::string& a) {
  // Every option of the viewer and of generate takes a value except these switches.
  return a != "--baseline" && a != "--save-rounds" && a != "--reference-attention" && a != "--help" && a != "-h";
}

}  // namespace

Inputs::Inputs(const std::vector<std::string>& launch) {
  for (const auto& [opt, label] : kFields) fields_[opt].fill(0);
  bool negative_given = false;
  for (size_t i = 0; i < launch.size(); ++i) {
    const std::string& a = launch[i];
    const bool has_value = takes_value(a) && i + 1 < launch.size();
    if (fields_.count(a) && has_value) {
      negative_given = negative_given || a == "--negative";
      set(a, launch[++i]);
    } else if (run_only(a)) {
      if (has_value) ++i;
    } else {
      passthrough_.push_back(a);
      if (has_value && a.rfind("--", 0) == 0) passthrough_.push_back(launch[++i]);
    }
  }
  // The negative field holds the negative prompt the run uses, so an empty one means none (as `--negative ""` does)
  // rather than "the default": an EZIGen launch without one shows EZIGen's default.
  if (!negative_given && !get("--subject").empty()) set("--negative", pipeline::kEzigenNegative);
}

void Inputs::set(const std::string& option, const std::string& value) {
  auto& f = fields_.at(option);
  f.fill(0);
  std::memcpy(f.data(), value.data(), std::min(value.size(), f.size() - 1));
}

std::string Inputs::get(const std::string& option) const { return std::string(fields_.at(option).data()); }

std::vector<std::string> Inputs::args() const {
  std::vector<std::string> out;
  for (const auto& [opt, label] : kFields) {
    const std::string v = get(opt);
    if (!v.empty() || opt == "--negative") out.insert(out.end(), {opt, v});
  }
  out.insert(out.end(), passthrough_.begin(), passthrough_.end());
  return out;
}

std::optional<Inputs::Request> Inputs::draw(const std::vector<std::string>& dropped, bool can_rerun) {
  if (!dropped.empty()) set("--subject", dropped.front());
  ImGui::PushItemWidth(-90.f);
  for (const auto& [opt, label] : kFields) {
    auto& f = fields_[opt];
    if (opt == "--prompt" || opt == "--negative")
      ImGui::InputTextMultiline(label.c_str(), f.data(), f.size(), ImVec2(-90.f, ImGui::GetTextLineHeight() * 2.6f));
    else
      ImGui::InputText(label.c_str(), f.data(), f.size());
  }
  ImGui::PopItemWidth();
  ImGui::TextDisabled("(drop an image on the window for the subject)");
  std::optional<Request> out;
  const bool run = ImGui::Button("Run");
  bool rerun = false;
  if (can_rerun) {
    ImGui::SameLine();
    rerun = ImGui::Button("Re-run transfer");
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("from the kept sketch: the text-only steps are not run again (same seed, steps, split, scheduler, size)");
  }
  if (run || rerun) {
    try {
      out = Request{parse_args(args()), rerun};
      if (rerun && !out->args.run.ezigen) throw std::runtime_error("re-running the transfer needs a subject");
      error_.clear();
    } catch (const std::exception& e) {
      out.reset();
      error_ = e.what();
    }
  }
  if (!error_.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 120, 120, 255));
    ImGui::TextWrapped("%s", error_.c_str());
    ImGui::PopStyleColor();
  }
  return out;
}

}  // namespace ezivk::viewer
