#pragma once
// Animated GIFs of a run (its rounds, or its timeline of x̂0 previews) for slides and teaching, through Debian's
// giflib: each frame quantised to its own 256-colour table (giflib's median cut), enlarged by a whole factor with
// nearest pixels so small model outputs stay crisp, looping forever.
#include <cstdint>
#include <vector>

#include "engine/io/image.h"

namespace ezivk::viewer {

// frames: RGB or RGBA, all the same size. delay_cs: hundredths of a second per frame. Error naming what is wrong.
std::vector<uint8_t> encode_gif(const std::vector<io::Image8>& frames, int delay_cs, int scale);

}  // namespace ezivk::viewer
