#pragma once
// Comparing two pictures of a run (the sketch, the first pass, any round): the per-pixel difference as a picture.
#include "engine/io/image.h"

namespace ezivk::viewer {

// |a - b| per channel, times `gain`, clamped to 255; RGB. Error when the sizes differ.
io::Image8 difference_image(const io::Image8& a, const io::Image8& b, int gain);

// The mean absolute difference per channel, 0..255.
double mean_abs_difference(const io::Image8& a, const io::Image8& b);

}  // namespace ezivk::viewer
