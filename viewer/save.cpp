#include "viewer/save.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/io/png.h"
#include "engine/util/error.h"
#include "tools/ezivk/commands.h"
#include "viewer/gif_writer.h"
#include "viewer/panels.h"
#include "viewer/state_report.h"

namespace ezivk::viewer {
namespace {

constexpr const char* kNames[] = {"image.png", "map.png", "report.json", "rounds.gif", "timeline.gif"};

std::vector<bool> flags(const SaveItems& s) { return {s.image, s.map, s.report, s.rounds_gif, s.timeline_gif}; }

void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  io::write_file_atomically(path, [&](std::ostream& f) { f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())); });
}

// A latent [B, C, h, w] (item 0) through the preview projection, as the picture shader draws it.
io::Image8 project(const pipeline::Snapshot& x0, const LatentProjection& p) {
  const int64_t c = x0.shape.at(1), h = x0.shape.at(2), w = x0.shape.at(3), plane = h * w;
  io::Image8 im{int(w), int(h), 3, std::vector<uint8_t>(size_t(plane) * 3)};
  for (int64_t i = 0; i < plane; ++i)
    for (int o = 0; o < 3; ++o) {
      float v = p.bias[size_t(o)];
      for (int64_t k = 0; k < std::min<int64_t>(c, 4); ++k) v += p.proj[size_t(o * 4 + k)] * x0.values[size_t(k * plane + i)];
      im.pixels[size_t(i) * 3 + size_t(o)] = uint8_t(std::lround(std::clamp(v, 0.f, 1.f) * 255.f));
    }
  return im;
}

io::Image8 enlarge(const io::Image8& im, int factor) {
  io::Image8 out{im.width * factor, im.height * factor, 3, {}};
  out.pixels.resize(size_t(out.width) * size_t(out.height) * 3);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < 3; ++c)
        out.pixels[(size_t(y) * size_t(out.width) + size_t(x)) * 3 + size_t(c)] =
            im.pixels[(size_t(y / factor) * size_t(im.width) + size_t(x / factor)) * size_t(im.channels) + size_t(c)];
  return out;
}

int factor_for(int size) { return std::max(1, (256 + size - 1) / std::max(size, 1)); }

}  // namespace

SaveItems parse_save_items(const std::string& list) {
  SaveItems s;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == "all") s = {true, true, true, true, true};
    else if (item == "image") s.image = true;
    else if (item == "map") s.map = true;
    else if (item == "report") s.report = true;
    else if (item == "rounds-gif") s.rounds_gif = true;
    else if (item == "timeline-gif") s.timeline_gif = true;
    else throw cli::UsageError("--save takes image, map, report, rounds-gif, timeline-gif or all (comma-separated), got '" + item + "'");
  }
  if (!s.any()) throw cli::UsageError("--save needs at least one item");
  return s;
}

std::vector<std::filesystem::path> save_paths(const SaveItems& items, const std::filesystem::path& dir, uint64_t seed) {
  std::vector<std::filesystem::path> out;
  const auto f = flags(items);
  for (size_t i = 0; i < f.size(); ++i)
    if (f[i]) out.push_back(dir / ("ezivk-" + std::to_string(seed) + "-" + kNames[i]));
  return out;
}

io::Image8 map_image(const io::Image8& subject, const PointMap& m, int side) {
  if (m.probs.empty() || side < 1 || size_t(side) * size_t(side) != m.probs.size())
    fail("no attention map to save: pick a point of the output once the subject has joined the run");
  io::Image8 im = enlarge(subject, factor_for(subject.width));
  const float top = std::max(*std::max_element(m.probs.begin(), m.probs.end()), 1e-12f);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const int t = (y * side / im.height) * side + x * side / im.width;
      const float v = std::clamp(m.probs[size_t(t)] / top, 0.f, 1.f);
      // The viewer's overlay colour: red to yellow with the share, more opaque where more attention lands.
      const float heat[3] = {255.f, 200.f * (1.f - v), 0.f}, a = (40.f + 180.f * v) / 255.f;
      uint8_t* p = &im.pixels[(size_t(y) * size_t(im.width) + size_t(x)) * 3];
      for (int c = 0; c < 3; ++c) p[c] = uint8_t(std::lround(float(p[c]) * (1.f - a) + heat[c] * a));
      const int bx = m.best % side, by = m.best / side;
      const int x0 = bx * im.width / side, x1 = (bx + 1) * im.width / side - 1;
      const int y0 = by * im.height / side, y1 = (by + 1) * im.height / side - 1;
      const bool in_cell = x >= x0 && x <= x1 && y >= y0 && y <= y1;
      if (in_cell && (x - x0 < 2 || x1 - x < 2 || y - y0 < 2 || y1 - y < 2)) p[0] = 0, p[1] = 255, p[2] = 255;
    }
  return im;
}

std::vector<std::filesystem::path> save_run(const SaveItems& items, const std::filesystem::path& dir, const RunState& s,
                                            const RunSettings& settings, const nlohmann::json& report,
                                            const AttentionView& view) {
  const uint64_t seed = settings.ezigen ? settings.ezigen->seed : settings.t2i.seed;
  const auto paths = save_paths(items, dir, seed);
  std::vector<std::filesystem::path> written;
  size_t next = 0;
  const nlohmann::json params = settings_json(settings);
  if (items.image) {
    if (!s.final_image) fail("no final image to save yet: the run has not finished");
    const io::PngText text = {{"Software", "ezivk-viewer"}, {"parameters", params.dump()}, {"prompt", params["prompt"].get<std::string>()},
                              {"seed", std::to_string(seed)}};
    write_bytes(paths[next], io::encode_png(*s.final_image, text, paths[next].string()));
    written.push_back(paths[next++]);
  }
  if (items.map) {
    const Correspondence* c = s.correspondence.get();
    const int q = c ? view.query(*c) : -1;
    if (!c || q < 0 || !s.subject) fail("no attention map to save: pick a point of the output once the subject has joined the run");
    const PointMap m = c->forward(q, view.aggregation());
    nlohmann::json about = params;
    const auto [px, py] = c->query_centre(q);
    about["map"] = {{"point", {px, py}}, {"aggregation", view.aggregation_text(*c)}, {"mass", m.mass}, {"argmax_token", m.best}};
    write_bytes(paths[next], io::encode_png(map_image(*s.subject, m, c->side()),
                                            {{"Software", "ezivk-viewer"}, {"parameters", about.dump()}}, paths[next].string()));
    written.push_back(paths[next++]);
  }
  if (items.report) {
    const std::string text = report.dump(2) + "\n";
    write_bytes(paths[next], std::vector<uint8_t>(text.begin(), text.end()));
    written.push_back(paths[next++]);
  }
  if (items.rounds_gif) {
    std::vector<io::Image8> frames;
    if (s.sketch) frames.push_back(*s.sketch);
    for (const auto& r : s.rounds)
      if (r.image) frames.push_back(*r.image);
    if (frames.size() < 2) fail("no rounds to save yet: the GIF needs the sketch and at least the first pass");
    for (auto& f : frames) f = enlarge(f, factor_for(f.width));
    write_bytes(paths[next], encode_gif(frames, 80, 1));
    written.push_back(paths[next++]);
  }
  if (items.timeline_gif) {
    std::vector<io::Image8> frames;
    for (const auto& e : s.timeline) {
      if (!e.x0) continue;
      LatentProjection p;
      if (s.preview_fit) p.proj = s.preview_fit->proj, p.bias = s.preview_fit->bias;
      else p = stretch_projection(*e.x0);
      const io::Image8 im = project(*e.x0, p);
      frames.push_back(enlarge(im, factor_for(im.width)));
    }
    if (frames.empty()) fail("no timeline to save yet: no step has finished");
    write_bytes(paths[next], encode_gif(frames, 12, 1));
    written.push_back(paths[next++]);
  }
  return written;
}

}  // namespace ezivk::viewer
