#include "engine/eval/subject_likeness.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/util/error.h"

namespace ezivk::eval {

HueHistogram hue_histogram(const io::Image8& image, const HueOptions& options, int* counted) {
  HueHistogram h{};
  if (image.channels != 3 && image.channels != 4)
    fail("hue histogram: the image has " + std::to_string(image.channels) + " channels, expected 3 or 4");
  const size_t n = size_t(image.width) * size_t(image.height);
  if (image.pixels.size() < n * size_t(image.channels))
    fail("hue histogram: the image holds fewer bytes than its " + std::to_string(image.width) + "x" +
         std::to_string(image.height) + " pixels need");
  int used = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &image.pixels[i * size_t(image.channels)];
    if (options.foreground_only && p[0] >= options.white_level && p[1] >= options.white_level &&
        p[2] >= options.white_level)
      continue;
    const float r = p[0] / 255.0f, g = p[1] / 255.0f, b = p[2] / 255.0f;
    const float mx = std::max({r, g, b}), mn = std::min({r, g, b});
    const float chroma = mx - mn;
    if (mx < options.min_value || mx <= 0.0f || chroma / mx < options.min_saturation) continue;
    // HSV hue in [0, 6) sextants.
    float hue;
    if (mx == r) hue = std::fmod((g - b) / chroma + 6.0f, 6.0f);
    else if (mx == g) hue = (b - r) / chroma + 2.0f;
    else hue = (r - g) / chroma + 4.0f;
    // Bin centres at 5, 15, ... degrees; the vote is shared linearly with the neighbour (hue wraps).
    const float pos = hue * (kHueBins / 6.0f) - 0.5f;
    const float lo = std::floor(pos);
    const float frac = pos - lo;
    const int a = (int(lo) % kHueBins + kHueBins) % kHueBins;
    const int c = (a + 1) % kHueBins;
    h[size_t(a)] += 1.0 - frac;
    h[size_t(c)] += frac;
    ++used;
  }
  if (used > 0)
    for (double& v : h) v /= used;
  if (counted) *counted = used;
  return h;
}

double subject_likeness(const io::Image8& subject, const io::Image8& picture, const char* subject_name) {
  HueOptions fg;
  fg.foreground_only = true;
  int counted = 0;
  const HueHistogram s = hue_histogram(subject, fg, &counted);
  if (counted == 0)
    fail(std::string(subject_name) + ": the subject picture has no coloured pixels apart from its white "
         "background, so there is no colouring to look for");
  const HueHistogram p = hue_histogram(picture, HueOptions{});
  double inter = 0.0;
  for (int i = 0; i < kHueBins; ++i) inter += std::min(s[size_t(i)], p[size_t(i)]);
  return inter;
}

}  // namespace ezivk::eval
