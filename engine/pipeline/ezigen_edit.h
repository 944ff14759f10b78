#pragma once
// EZIGen editing: a subject drawn into an existing image inside a mask. No sketch pass: each round
//   1. VAE-encodes the current image (round 1: the source; generator B draws the posterior sample),
//   2. inverts it part way with the plain UNet (empty prompt, no guidance, DPM-Solver++ inverse on the N-step grid,
//      the steps i with i < split·N), keeping the trajectory; round 1's trajectory is the source's background,
//   3. runs the transfer steps timesteps[int(N − split·N):] with the subject on (guidance 2 by default) and, after
//      every scheduler step, blends x = x·M + bg·(1 − M) with the source's trajectory, M the mask at the latent size,
//   4. decodes; rounds stop as in generation (fixed count or the similarity rule).
// Which trajectory entry a step blends with: the reference implementation takes, after transfer step k (0-based),
// the entry n_inv − k (one step noisier than the latent the step produced, and the clean latent is never used);
// EditBlend::Aligned takes n_inv − k − 1, the entry at the step's own noise level.
#include <optional>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/pipeline/ezigen.h"

namespace ezivk::pipeline {

enum class EditBlend { Reference, Aligned };

// The source as editing uses it: the short side resized to `size` (PIL's bilinear), then the centre cropped so
// both sides are multiples of `multiple`. `how` (optional) receives a sentence saying what was done.
io::Image8 prepare_edit_source(const io::Image8& source, int size, int multiple, std::string* how = nullptr);

// The mask at the latent size [h·w], values in [0, 1]: a pixel of the mask image belongs to the subject where its
// first channel is 255 (the reference's R // 255); that 0/1 plane is resized to the prepared source's size before
// cropping (bilinear, half-pixel centres, rounded back to 0/1), cropped like the source, then resized bilinearly
// (half-pixel centres, no antialiasing: torch's F.interpolate) to h × w. Error naming the mask when it is empty.
std::vector<float> edit_mask_latent(const io::Image8& mask, const io::Image8& raw_source, int size, int multiple,
                                    int64_t h, int64_t w);

struct EzigenEditParams {
  std::string prompt;
  std::optional<std::vector<int32_t>> prompt_ids, empty_ids;  // models without a tokenizer
  io::Image8 source;                  // prepared (prepare_edit_source)
  std::vector<float> mask;            // at the latent size (edit_mask_latent)
  std::vector<SubjectImage> subjects;
  SubjectMode mode = SubjectMode::Adapter;
  float strength = 1.f;
  int steps = 50;
  double guidance = 2.0;
  uint64_t seed = 0;
  std::optional<sched::SchedulerKind> scheduler;  // the transfer steps' (default DDPM)
  double split = 0.4;
  int t_subject = 1;
  RoundPolicy rounds;
  EditBlend blend = EditBlend::Reference;
  bool preview_x0 = false;
  const CancelFlag* cancel = nullptr;
  ClipImageEmbedder* clip = nullptr;                     // for rounds.similarity == "clip"
  std::function<double(int round)> scripted_similarity;  // tests
};

struct EzigenEditResult {
  io::Image8 image;
  std::vector<EzigenRound> rounds;
  std::vector<std::vector<float>> background;  // the source's inversion trajectory: [encoded, after step 1, ...]
  std::vector<int> blend_index;                // per transfer step: the trajectory entry it blended with
  int inversion_steps = 0, round_first_step = 0;
  int64_t width = 0, height = 0;
  double subject_seconds = 0, total_seconds = 0;
  uint64_t weight_bytes = 0, adapter_bytes = 0, bank_bytes = 0, activation_bytes = 0, state_bytes = 0;
};

EzigenEditResult ezigen_edit(StableDiffusion& sd, const EzigenWeights* weights, const EzigenEditParams& params,
                             const EventSink& events = {});

}  // namespace ezivk::pipeline
