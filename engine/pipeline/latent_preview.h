#pragma once
// A cheap picture of any latent: rgb = A · z + b per latent pixel, with A (3 x C, C <= 4 used) and b fitted per model
// by least squares on a few images the model's own VAE encodes (so it serves a tiny demo model and SD2.x alike).
// The viewer draws every step's x̂0 through it in a shader; it costs one VAE encode of a few small images at load.
#include <array>
#include <cstdint>
#include <vector>

#include "engine/io/image.h"
#include "engine/models/graph_runner.h"
#include "engine/pipeline/stable_diffusion.h"

namespace ezivk::pipeline {

struct LatentRgbFit {
  std::array<float, 12> proj{};  // row-major [3][4]: channel c's weight for red, green, blue (columns past C are 0)
  std::array<float, 3> bias{};   // in [0, 1] units
  double rmse = 0;               // on the fitting images, in [0, 1] units
  int samples = 0;               // latent pixels fitted
};

// Least squares of targets [n, 3] on features [n, c] (c <= 4) plus a constant, with a tiny ridge so a feature that
// never varies does not make the system singular.
LatentRgbFit fit_latent_rgb(const std::vector<float>& features, int c, const std::vector<float>& targets);

// Synthetic fitting images: smooth colour gradients and blocks of saturated colours, `size` pixels square.
std::vector<io::Image8> latent_fit_images(int size, int count);

// Encodes latent_fit_images with the model's VAE (posterior mean × scaling_factor) and fits each latent pixel to the
// mean colour of the image pixels it covers. Needs the VAE's encoder.
LatentRgbFit fit_latent_rgb(StableDiffusion& sd, models::GraphRunner& runner, int size = 64);

}  // namespace ezivk::pipeline
