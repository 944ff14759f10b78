#pragma once
// Stage: between 8-bit images and scaled latents through the VAE. Encoding samples the posterior as diffusers'
// DiagonalGaussianDistribution.sample does (mean + exp(logvar / 2) · ε, ε drawn from the given generator as one
// torch.randn of the latent's shape), then multiplies by scaling_factor; decoding divides by it.
#include <cstdint>
#include <vector>

#include "engine/io/image.h"
#include "engine/models/graph_runner.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/util/torch_randn.h"

namespace ezivk::pipeline {

// An RGB image as the VAE's input [3, H, W]: p / 255 · 2 − 1 in float32, as diffusers' image processor computes it.
std::vector<float> rgb8_to_vae_input(const io::Image8& img);

struct EncodedLatents {
  std::vector<float> latent;  // [B, C, h, w], × scaling_factor
  std::vector<float> mean;    // the posterior's mean [B, C, h, w], unscaled
  std::vector<int64_t> shape;
};

// Images of one size, multiples of the VAE's downsampling, RGB. Draws B·C·h·w normals from `gen`.
EncodedLatents encode_images(StableDiffusion& sd, models::GraphRunner& runner, const std::vector<io::Image8>& images,
                             TorchGenerator& gen);

struct DecodedImages {
  std::vector<io::Image8> images;  // RGB
  std::vector<float> raw;          // the decoder's output [B, 3, H, W] (before clamp(x / 2 + 0.5))
  int tiles = 1;                   // per image: more than 1 when decoded in tiles (vae_tiling.h)
};

// latent: f32 [B, C, h, w] on the device, × scaling_factor. Decodes in tiles when the whole decode would bind a
// tensor wider than the device's storage-buffer range.
DecodedImages decode_latents(StableDiffusion& sd, models::GraphRunner& runner, const ops::Tensor& latent);

}  // namespace ezivk::pipeline
