#pragma once
// How much of a subject's colouring a picture shows: the measure behind the demo model's subject-transfer
// figures and its end-to-end test.
//
// Both pictures are reduced to a distribution over hue (36 bins of 10 degrees, each pixel's vote split
// linearly between its two nearest bins) of their coloured pixels: saturation and value above fixed floors, so
// white paper, grey road, black night and soft shading do not count. The subject picture's distribution is
// taken over its foreground only (pixels that are not near white, the way subjects are given); the output's
// over the whole picture, since the subject may be anywhere in it. The likeness is the histogram
// intersection of the two, in [0, 1]: 1 when every hue of the subject appears in the picture at least in the
// same proportion. Backgrounds add hues of their own, so absolute values depend on the scene; the figure that
// means something is the gain of a subject-driven picture over the text-only picture of the same prompt and
// seed, whose background is the same.
#include <array>

#include "engine/io/image.h"

namespace ezivk::eval {

inline constexpr int kHueBins = 36;
using HueHistogram = std::array<double, kHueBins>;

struct HueOptions {
  float min_saturation = 0.35f;  // HSV saturation
  float min_value = 0.25f;       // HSV value (night scenes are dark; their subjects stay above this)
  bool foreground_only = false;  // skip near-white pixels (a subject photographed on white)
  int white_level = 235;         // near white: every channel at or above this
};

// Normalised to sum 1 over the counted pixels; all zeros when none counts (then `counted` is 0).
HueHistogram hue_histogram(const io::Image8& image, const HueOptions& options, int* counted = nullptr);

// Histogram intersection of the subject's foreground hues and the picture's hues, in [0, 1]. Throws an Error
// naming `subject_name` when the subject picture has no coloured foreground to compare against.
double subject_likeness(const io::Image8& subject, const io::Image8& picture, const char* subject_name);

}  // namespace ezivk::eval
