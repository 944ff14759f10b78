#pragma once
// Comparing two pictures of the same size (the viewer's Compare tab, tests of whole runs): the per-pixel difference
// as a picture and its mean.
#include "engine/io/image.h"

namespace ezivk::eval {

// |a - b| per channel, times `gain`, clamped to 255; RGB. Error when the sizes differ.
io::Image8 difference_image(const io::Image8& a, const io::Image8& b, int gain);

// The mean absolute difference per channel, 0..255.
double mean_abs_difference(const io::Image8& a, const io::Image8& b);

}  // namespace ezivk::eval
