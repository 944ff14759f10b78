#pragma once
// What a pipeline run reports while it works: the CLI turns these into a progress bar and a JSON report, the viewer
// into live panels, tests into assertions. Emitted between GPU submits, never from inside recorded work.
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace ezivk::pipeline {

struct RunStarted {
  int steps = 0;            // scheduler steps (UNet calls)
  int batch = 1;            // images
  int64_t width = 0, height = 0;
  bool guided = false;      // classifier-free guidance: the UNet runs on 2·batch
  std::string scheduler;
};

// Something the user should know that does not stop the run (a truncated prompt).
struct Notice {
  std::string text;
};

// A stage other than the denoising steps finished ("text_encoder", "vae_decode").
struct StageDone {
  std::string stage;
  double seconds = 0;
};

struct StepDone {
  int index = 0, total = 0;
  float timestep = 0;
  double seconds = 0;                      // this step, wall clock (the first includes building pipelines)
  const std::vector<float>* x0 = nullptr;  // host copy of the predicted x̂0 [B, C, h, w], only when asked for
};

struct Finished {
  double seconds = 0;
};

struct Failed {
  std::string error;
};

using Event = std::variant<RunStarted, Notice, StageDone, StepDone, Finished, Failed>;
using EventSink = std::function<void(const Event&)>;

}  // namespace ezivk::pipeline
