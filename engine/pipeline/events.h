#pragma once
// What a pipeline run reports while it works: the CLI turns these into a progress bar and a JSON report, the viewer
// into live panels, tests into assertions. Emitted between GPU submits, never from inside recorded work.
// Events own what they carry (host copies behind shared_ptr<const …>): a consumer on another thread (the viewer)
// may keep them as long as it likes while the run overwrites its device buffers.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/io/image.h"
#include "engine/pipeline/device_preview.h"

namespace ezivk::pipeline {

// Which pass a step belongs to. Text: plain text-to-image. Sketch / Transfer: EZIGen's first pass before and
// after the split. Round: an iterative transfer round. Inversion: editing's partial inversion of the source.
// Subject: the one UNet pass that encodes the subjects.
enum class Phase { Text, Sketch, Transfer, Round, Inversion, Subject };
const char* phase_name(Phase p);

// A host copy of a float tensor.
struct Snapshot {
  std::vector<int64_t> shape;
  std::vector<float> values;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;
using ImagePtr = std::shared_ptr<const io::Image8>;

struct RunStarted {
  int steps = 0;            // scheduler steps (UNet calls) of the first pass
  int batch = 1;            // images
  int64_t width = 0, height = 0;
  bool guided = false;      // classifier-free guidance: the UNet runs on 2·batch
  std::string scheduler;
  int round_steps = 0;      // UNet calls per transfer round (EZIGen; 0 otherwise)
  int max_rounds = 0;       // the most rounds the run may take (fixed count or the auto-stop bound)
};

// Something the user should know that does not stop the run (a truncated prompt).
struct Notice {
  std::string text;
};

// A stage other than the denoising steps finished ("text_encoder", "vae_decode", "subject_encoding").
struct StageDone {
  std::string stage;
  double seconds = 0;
};

struct StepDone {
  int index = 0, total = 0;  // index in the scheduler's grid of `total` steps
  float timestep = 0;
  double seconds = 0;        // this step, wall clock (the first includes building pipelines)
  Phase phase = Phase::Text;
  int round = 0;             // 0: the first pass (or inversion); r >= 1: transfer round r
  SnapshotPtr x0;            // the predicted x̂0 [B, C, h, w], only when previews were asked for
  SnapshotPtr latent;        // the current latent x_t after the step [B, C, h, w], likewise
  std::optional<DevicePreview> x0_device;  // x̂0 in the consumer's device slot, when it gave a PreviewSlot
};

// EZIGen: the first pass reached the split; the latent there (what the adapter's steps start from) and the image
// of its x̂0.
struct SketchReady {
  SnapshotPtr latent;
  ImagePtr x0_image;
  int64_t gen_a_values = 0;  // generator A's values drawn when the sketch was reached (to re-run from it)
};

// A transfer round finished (round 0 is the first pass's image). similarity: against the image before it (absent
// for round 0 and for a measure that was not computed); stop: the run ends after this round, and why.
struct RoundDone {
  int round = 0;
  ImagePtr image;
  std::optional<double> similarity;
  bool stop = false;
  std::string reason;
};

// Attention of selected output locations over the subject tokens, in one transformer block at one step.
struct AttentionCaptured {
  int round = 0, step = 0;
  std::string block;
  std::vector<uint32_t> query_ids;
  SnapshotPtr probs;  // [B, queries, subject tokens], averaged over heads or one head's
  SnapshotPtr mass;   // [B, queries]: the share of attention that went to the subject
  int head = -1;      // -1: the mean over the block's heads; else the one head captured
};

struct Finished {
  double seconds = 0;
};

struct Failed {
  std::string error;
};

struct CancelledEvent {};

using Event = std::variant<RunStarted, Notice, StageDone, StepDone, SketchReady, RoundDone, AttentionCaptured, Finished,
                           Failed, CancelledEvent>;
using EventSink = std::function<void(const Event&)>;

}  // namespace ezivk::pipeline
