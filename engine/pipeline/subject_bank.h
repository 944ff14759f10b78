#pragma once
// EZIGen's subject encoding: each subject image is VAE-encoded (a posterior sample), noised to t_subject with the
// DDPM schedule and run once through the plain UNet (the model folder's weights) on its subject prompt; what
// every transformer block's attn1 saw (its norm1 output) is kept on the device for the whole run. Several
// subjects are concatenated along the tokens: block b holds [1, S·N_b, C_b].
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/gpu/memory.h"
#include "engine/io/image.h"
#include "engine/models/graph_runner.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/util/torch_randn.h"

namespace ezivk::pipeline {

enum class SubjectAlpha { White, Ignore };

struct SubjectImage {
  io::Image8 image;  // RGB at the model size (prepare_subject_image)
  std::string prompt;
  std::optional<std::vector<int32_t>> prompt_ids;  // models without a tokenizer
};

// A user's subject picture for the subject pass: an alpha channel composited over white (White) or dropped
// (Ignore, what the reference does); an optional mask (white = subject) whitens what it excludes; then resized
// to size × size as PIL's BILINEAR resize does (antialiased when shrinking, no crop: the aspect is not kept).
io::Image8 prepare_subject_image(const io::Image8& image, int size, SubjectAlpha alpha = SubjectAlpha::White,
                                 const io::Image8* mask = nullptr);

struct SubjectBank {
  gpu::Arena arena;
  int subjects = 0;
  std::vector<std::string> blocks;            // execution order
  std::map<std::string, ops::Tensor> tokens;  // block -> [1, S·N_b, C_b]
  uint64_t bytes() const { return arena.capacity(); }
};

// The model size the subjects are encoded at: the UNet's sample_size × the VAE's factor.
int subject_size(const StableDiffusion& sd);

// Draws from gen_b, in order: the posterior sample [S, C, h, w], then the noise [1, C, h, w] shared by all subjects.
// Uses runner's activation arena (reserve the subject pass's plan first: subject_pass_plan).
SubjectBank encode_subjects(StableDiffusion& sd, models::GraphRunner& runner, const std::vector<SubjectImage>& subjects,
                            int t_subject, TorchGenerator& gen_b);

// Activation bytes the subject pass needs (text encoder, VAE encode of S images, the UNet at batch S).
uint64_t subject_pass_plan(StableDiffusion& sd, int subjects);

}  // namespace ezivk::pipeline
