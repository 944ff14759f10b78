#pragma once
// EZIGen: zero-shot subject-driven generation (a prompt and pictures of a subject -> the subject in the scene).
// 1. Subject bank (subject_bank.h): the subjects through the plain UNet once.
// 2. First pass on the N-step grid: text only for the early steps (the "sketch"), then the subject on (the
//    adapter, or the training-free reference attention) for the rest: on at step i when (1 − split)·N < i + 1.
// 3. Rounds: re-encode the previous image (8-bit RGB), noise it to int(split · num_train_timesteps), denoise
//    timesteps[int(N − split·N):] with the subject on; stop after a fixed count or when consecutive images agree.
// Random numbers: generator A (the seed) draws the initial latent and every stochastic step, across the first
// pass and all rounds; generator B (the same seed) draws the subject posterior sample and noise, then each
// round's posterior sample and noise. The text-only steps equal `ezivk generate --scheduler ddpm` with the same
// negative prompt.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/image.h"
#include "engine/pipeline/cancel.h"
#include "engine/pipeline/clip_image_embedder.h"
#include "engine/pipeline/denoise.h"
#include "engine/pipeline/events.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/subject_attention.h"
#include "engine/pipeline/subject_bank.h"
#include "engine/pipeline/vae_codec.h"
#include "engine/sched/scheduler_config.h"

namespace ezivk::pipeline {

inline constexpr const char* kEzigenNegative = "dark, blur, defoucus, lack of content, dizzy.";  // (sic)

// When the rounds stop. fixed: exactly that many (0: none); otherwise at least min_rounds, at most max_rounds,
// stopping after a round whose similarity to the image before it is >= threshold.
struct RoundPolicy {
  std::optional<int> fixed;
  int min_rounds = 3, max_rounds = 9;
  double threshold = 0.0;  // set from the measure's default when the user gives none
  std::string similarity = "latent";
};

struct RoundDecision {
  bool stop = false;
  std::string reason;
};
// The stop rule after round r (1-based) whose similarity is `sim` (absent: not measured).
RoundDecision decide_after_round(const RoundPolicy& p, int round, std::optional<double> sim);

// The similarity measures and their default thresholds.
double default_similarity_threshold(const std::string& measure);
// "latent": the Pearson correlation of the two images' VAE posterior means (the next round encodes the image
// anyway, so the measure costs one small encode per round and needs no other model).
double latent_similarity(const std::vector<float>& a, const std::vector<float>& b);

struct EzigenParams {
  std::string prompt;
  std::string negative = kEzigenNegative;  // the first pass
  std::string round_negative;               // the rounds
  std::optional<std::vector<int32_t>> prompt_ids, negative_ids, round_negative_ids;  // models without a tokenizer
  std::vector<SubjectImage> subjects;       // prepared at the model size
  SubjectMode mode = SubjectMode::Adapter;
  float strength = 1.f;                     // the reference mode's weight on the subject's keys and values
  int steps = 50;
  double guidance = 7.5, round_guidance = 7.5;
  uint64_t seed = 0;
  std::optional<sched::SchedulerKind> scheduler;  // default DDPM (the reference's)
  std::vector<std::string> scheduler_overrides;
  int64_t width = 0, height = 0;            // 0: the model size
  double split = 0.4;                       // the share of steps with the subject on, in (0, 1)
  int t_subject = 1;
  RoundPolicy rounds;
  bool baseline = false;                    // also the text-only image of the same seed
  std::optional<io::Image8> start_image;    // rounds start from this instead of a first pass (model size, RGB)
  // Re-running the transfer from a kept sketch: the first pass starts at the split from this latent (a previous
  // run's sketch_latent), with generator A advanced by the values that run had drawn there, so the sketch's steps are
  // not recomputed. The run must have the same seed, steps, split, scheduler and size (checked against `of`); with
  // every other setting the same it reproduces that run exactly. Subjects, adapter strength, guidance after the
  // split and the rounds may change.
  struct KeptSketch {
    std::vector<float> latent;   // [1, C, h, w]
    int64_t gen_a_values = 0;    // EzigenResult::gen_a_values_at_split
    uint64_t seed = 0;
    int steps = 0;
    double split = 0;
    std::string scheduler;       // EzigenResult::scheduler
    int64_t width = 0, height = 0;
  };
  std::optional<KeptSketch> from_sketch;
  bool preview_x0 = false;
  PreviewSlot preview_slot;  // set: StepDone::x0_device, each step's x̂0 copied into the consumer's device slot
  const CancelFlag* cancel = nullptr;
  ClipImageEmbedder* clip = nullptr;  // the image tower for rounds.similarity == "clip"
  // Attention capture (the viewer's correspondence view): for every step with the subject on, what the image
  // positions `capture_points` ((x, y) in [0, 1) of the image) attend to among the subject's tokens in each of
  // `capture_blocks` (transformer block names), as AttentionCaptured events.
  std::vector<std::string> capture_blocks;
  std::vector<std::pair<float, float>> capture_points;
  // Which head the capture shows, read before every step so a viewer can change it mid-run: null or -1, the
  // mean over each block's heads; else that head, which every captured block must have.
  const std::atomic<int>* capture_head = nullptr;
  // Tests: replaces the similarity measure (round -> similarity).
  std::function<double(int round)> scripted_similarity;
};

struct EzigenRound {
  int round = 0;
  io::Image8 image;
  std::vector<float> latent;  // final latent [1, C, h, w]
  std::optional<double> similarity;
  bool stop = false;
  std::string reason;
  double seconds = 0;
};

struct EzigenResult {
  io::Image8 image;                         // the final image (the last round's, or the first pass's)
  std::optional<io::Image8> first, sketch_x0, baseline;
  std::vector<float> sketch_latent, first_latent;
  std::vector<float> sketch_x0_latent;      // x̂0 of the last text-only step (what sketch_x0 shows)
  std::vector<EzigenRound> rounds;
  std::string scheduler;
  std::vector<float> timesteps;
  int switch_step = 0;       // the first step of the first pass with the subject on
  int round_first_step = 0;  // the grid index rounds start at
  int t_round = 0;           // the timestep rounds are noised to
  int64_t gen_a_values_at_split = 0;  // normals generator A had drawn when the sketch latent was reached
  int64_t width = 0, height = 0;
  double subject_seconds = 0, first_pass_seconds = 0, baseline_seconds = 0, total_seconds = 0;
  // bank_bytes: the subject bank and the subjects' keys and values.
  uint64_t weight_bytes = 0, adapter_bytes = 0, bank_bytes = 0, activation_bytes = 0, state_bytes = 0;
};

// After a transfer round's last step (its latent in `den`): decodes it, draws the next round's input from gen_b
// into `next` (its posterior mean, against `input`'s, measures how much the round changed the image), decides
// whether to stop and emits RoundDone. Shared by generation and editing.
// measure (when set) replaces the latent measure: (round, the round's image, the next round's input).
using RoundMeasure = std::function<double(int round, const io::Image8& image, const EncodedLatents& next)>;
EzigenRound finish_round(StableDiffusion& sd, models::GraphRunner& runner, const Denoiser& den, int round,
                         const EncodedLatents& input, EncodedLatents& next, TorchGenerator& gen_b,
                         const RoundPolicy& policy, const RoundMeasure& measure,
                         std::chrono::steady_clock::time_point started, const EventSink& events);
// The measure a policy names: scripted (tests), "clip" (cosine of CLIP image embeddings of consecutive images,
// starting from `first`), or nullptr for "latent". Error when "clip" has no embedder.
RoundMeasure round_measure(const RoundPolicy& policy, ClipImageEmbedder* clip, const std::function<double(int)>& scripted,
                           const io::Image8& first);

// The token grid (height, width) of a transformer block for a latent of h × w: each downsampling halves it,
// rounding up, as the UNet's stride-2 convolutions do.
std::pair<int64_t, int64_t> block_grid(const models::UNetConfig& unet, const std::string& block, int64_t h, int64_t w);

// weights: required in Adapter mode, ignored in Reference mode.
EzigenResult ezigen_generate(StableDiffusion& sd, const EzigenWeights* weights, const EzigenParams& params,
                             const EventSink& events = {});

}  // namespace ezivk::pipeline
