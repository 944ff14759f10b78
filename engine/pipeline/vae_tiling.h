#pragma once
// Tiled VAE decoding, for latents whose whole decode would bind a tensor wider than the device's storage-buffer
// range (the decoder's last blocks hold 128-256 channels at full image size: 256 MiB at 512x512 in fp32). The latent
// is cut into overlapping tiles, each decoded alone (batch 1), and the tiles' images are blended with weights that
// ramp linearly across each overlap, so no seam shows. Only used when the whole decode does not fit: a tile's
// group norms see only the tile, so tiled output differs slightly from a whole decode (as in diffusers' tiling).
#include <cstdint>
#include <vector>

#include "engine/models/autoencoder_kl.h"
#include "engine/models/graph_runner.h"

namespace ezivk::pipeline {

struct DecodeTiling {
  bool tiled = false;
  int64_t tile_h = 0, tile_w = 0;       // latent pixels (the whole latent when not tiled)
  int64_t overlap = 0;                  // latent pixels shared by neighbouring tiles
  std::vector<int64_t> rows, cols;      // tile origins in latent pixels
  uint64_t activation_bytes = 0;        // the plan of one decode (the whole batch, or one tile)
};

// The whole latent [batch, C, h, w] when its decode fits the device; otherwise the largest square-ish tile (a
// multiple of 8 latent pixels, down to 8) whose decode fits, with a quarter of it overlapping. Fails, naming the
// widest binding, when not even an 8x8 tile fits. Planning only: nothing is recorded.
DecodeTiling plan_decode_tiling(gpu::Context& ctx, ops::DType dtype, const models::AutoencoderKL& vae, int64_t batch,
                                int64_t h, int64_t w);

// Origins of tiles of `tile` covering [0, n) with at least `overlap` shared between neighbours; the last one ends at n.
std::vector<int64_t> tile_origins(int64_t n, int64_t tile, int64_t overlap);

// The blend weight of pixel `i` of a tile of `n` pixels along one axis: ramps from 0 to 1 over the first `ramp`
// pixels when the tile has a neighbour before it (`before`) and back down over the last `ramp` pixels when it has one
// after; 1 elsewhere and at the image's borders. Always positive, so every pixel has a defined blend.
float tile_weight(int64_t i, int64_t n, int64_t ramp, bool before, bool after);

}  // namespace ezivk::pipeline
