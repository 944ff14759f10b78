#pragma once
// A generation run on its own thread, on the viewer's context: loads the model (and adapters), runs text-to-image
// or EZIGen, and folds the pipeline's events into a RunState the UI thread copies each frame. Stop requests the
// run's cancel flag (checked between steps and between the pieces of a step); the destructor stops and joins.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/io/image.h"
#include "engine/pipeline/cancel.h"
#include "engine/pipeline/events.h"
#include "engine/pipeline/ezigen.h"
#include "engine/pipeline/latent_preview.h"
#include "engine/pipeline/text_to_image.h"
#include "viewer/correspondence.h"

namespace ezivk::viewer {

struct RunSettings {
  std::string model, variant, adapter;
  ops::DType dtype = ops::DType::F16;
  pipeline::TextToImageParams t2i;            // text-to-image (no subject)
  std::optional<pipeline::EzigenParams> ezigen;  // with a subject; its subjects are raw images until prepared
  std::vector<io::Image8> subject_images;
  std::vector<std::string> subject_prompts;
  pipeline::ImagePtr sketch_image;  // shown as the sketch from the start (a run re-started from a kept sketch)
  pipeline::PreviewSlot preview_slot;  // set: each step's x̂0 also stays on the device (RunState::x0_device)
  // Called under the state lock when state() returns a device preview, with its slot (the viewer's ring marks the
  // slot as drawn by the frame being built, before the run can hand that slot out again).
  std::function<void(const gpu::Slice&)> preview_taken;
  int capture_grid = 16;  // the query grid's points per side (at most the finest attention grid's)
  int capture_head = -1;  // the head the maps show at the start (-1: the mean over heads); set_capture_head changes it
  uint64_t map_budget = 256ull << 20;  // host bytes the timeline may keep in per-step correspondences
  // Called on the run's thread after its state changed (the window posts itself an event, so it draws the change at
  // once instead of on its next idle frame). Must be thread-safe.
  std::function<void()> on_change;
};

struct RoundView {
  int round = 0;
  pipeline::ImagePtr image;
  std::optional<double> similarity;
  bool stop = false;
  std::string reason;
};

// One step of the run, as the timeline scrubber shows it.
struct TimelineEntry {
  int round = 0, index = 0, total = 0;
  pipeline::Phase phase = pipeline::Phase::Text;
  pipeline::SnapshotPtr x0;                              // the step's x̂0 latent
  pipeline::SnapshotPtr latent;                          // the step's latent x_t
  std::shared_ptr<const Correspondence> correspondence;  // the step's captures; null before the split or past the budget
};

// What the UI shows; copied under the lock (images are shared, immutable).
struct RunState {
  enum class Status { Loading, Running, Finished, Failed, Stopped } status = Status::Loading;
  std::string message;  // loading progress, or the error
  std::string device, precision;
  std::string queues;  // how generation and the window share the device's queues (Status panel, --dump-state)
  pipeline::RunStarted started;
  int steps_done = 0;    // UNet steps over the whole run
  bool paused = false;   // held after a step (Pause), until Resume, Step or Stop
  int step_index = 0, step_total = 0;
  pipeline::Phase phase = pipeline::Phase::Text;
  int round = 0;
  std::vector<double> step_seconds;
  pipeline::SnapshotPtr x0;        // the latest step's x̂0 latent [B, C, h, w]
  pipeline::SnapshotPtr latent;    // the latest step's latent x_t
  std::optional<pipeline::DevicePreview> x0_device;  // the latest x̂0 in the viewer's device preview ring
  std::vector<std::pair<std::string, double>> stages;  // finished stages and their seconds, in order
  pipeline::ImagePtr sketch, final_image;
  std::vector<RoundView> rounds;
  // Where a grid of output points' adapter attention goes over the subject tokens, at the finest-resolution blocks
  // (viewer/correspondence.h); a new snapshot after every step with the subject on.
  std::shared_ptr<const Correspondence> correspondence;
  int capture_heads = 0;  // heads of the captured blocks (the fewest, if they differ); 0 until known
  int capture_head = -1;  // the head asked for now (the maps follow from the next step); state() fills it
  std::vector<TimelineEntry> timeline;  // every step so far, in order
  std::optional<pipeline::EzigenParams::KeptSketch> kept_sketch;  // what "re-run transfer" starts from
  pipeline::ImagePtr decoded;   // the full VAE decode of a step's x̂0, on demand (request_decode)
  int decoded_step = -1, decoded_round = 0;
  uint64_t timeline_map_bytes = 0;      // held by the timeline's correspondences (at most RunSettings::map_budget)
  pipeline::ImagePtr subject;           // the first subject as the model sees it
  std::optional<pipeline::LatentRgbFit> preview_fit;  // the model's fitted latent-to-RGB projection, once fitted
  double seconds = 0;
};
const char* status_name(RunState::Status s);

class Generation {
 public:
  Generation(gpu::Context& ctx, RunSettings settings);
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  RunState state() const;
  void stop();
  // Stops and waits for the run's thread to end (within a piece of a step): state() is then final.
  void finish();
  // Pause holds the run after its current UNet step; step_once lets exactly one more step run, then holds again.
  void set_paused(bool paused);
  void step_once();
  // A full VAE decode of the latest x̂0, made on the run's thread after its current step (or at once when paused).
  void request_decode();
  // The head the captured maps show from the next UNet step on: -1 the mean over heads, else 0..capture_heads-1
  // (clamped into that range).
  void set_capture_head(int head);
  bool done() const;
  int steps_done() const;  // without copying the state

 private:
  void run();
  void on_event(const pipeline::Event& e);
  void fold(const pipeline::Event& e);  // into state_
  void decode_latest();                 // on the run's thread, between steps
  void changed() const;                 // tells the window (RunSettings::on_change)

  gpu::Context& ctx_;
  RunSettings settings_;
  pipeline::CancelFlag cancel_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes a paused run
  int steps_allowed_ = 0;
  std::atomic<int> capture_head_{-1};
  bool decode_requested_ = false;
  pipeline::StableDiffusion* sd_ = nullptr;  // the run's model while it runs
  RunState state_;
  std::optional<Correspondence> correspondence_;  // built from the first capture's shape
  std::vector<std::string> capture_blocks_;
  int grid_w_ = 0, grid_h_ = 0;
  std::thread thread_;
};

}  // namespace ezivk::viewer
