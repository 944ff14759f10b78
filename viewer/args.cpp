#include "viewer/args.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "engine/io/image_file.h"
#include "engine/sched/scheduler_config.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/generate_ezigen.h"

namespace ezivk::viewer {

using cli::option_value;
using cli::parse_double;
using cli::parse_int;
using cli::UsageError;

// The demo's default case: one of models/demo/subjects (subjects.json), a prompt naming its class but not its colour.
const struct {
  const char* file;
  const char* subject_prompt;
  const char* prompt;
} kDemoSubject = {"blue_house.png", "a photo of a house.", "a photo of a house on the grass"};

const char* kUsage =
    "usage: ezivk-viewer [--model DIR --prompt TEXT] [generation options] [viewer options]\n"
    "  Opens a window on the engine's Vulkan device and starts the run: the live x̂0 of every step, the sketch,\n"
    "  every transfer round with its similarity and stop decision, device and timing status.\n"
    "  Without --model it opens on the demo model (models/demo) with a sample subject and prompt; any option given\n"
    "  replaces the demo's (--subject also drops its subject prompt).\n"
    "  Generation options are those of `ezivk generate` (--negative, --steps, --guidance, --seed, --scheduler,\n"
    "  --size, --precision, --variant; with --subject IMG: --adapter, --subject-prompt, --split, --rounds, ...).\n"
    "  --select X,Y               the output point (0..1, origin top-left) whose attention is shown first, pinned\n"
    "  --head N                   the attention head the maps show (-1, the default: the mean over heads; a head\n"
    "                             the model lacks becomes its last); the subject panel's head menu changes it mid-run\n"
    "  --headless-screenshot PNG  render until the run ends, write the window's image and exit\n"
    "  --dump-state JSON          at exit, write what is on screen (status, steps, rounds, frame times)\n"
    "  --window WxH               window size (default 1280x800)\n"
    "  --idle-frames N            frames drawn after the run ends before a headless exit (default 3)\n"
    "  --zoom Z                   the output picture's zoom at start, 1..32 (wheel zooms, right/middle drag pans)\n"
    "  --resize-at N:WxH          resize the window once N steps are done, as a user would (scripted demos, tests)\n"
    "  --close-at N               close the window once N steps are done, as a user would (the run stops)\n"
    "  --tab rounds|compare|layers  the bottom panel's tab at start (default rounds)\n"
    "  --save LIST                when the run finishes, save: image, map, report, rounds-gif, timeline-gif or all\n"
    "                             (comma-separated; the Save buttons do the same at any time)\n"
    "  --save-dir DIR             where saved files go, named ezivk-SEED-<item> (default: the current folder)\n"
    "  --piece-ms T               where the window shares the device's one queue, generation submits in pieces that\n"
    "                             take about T ms, so a frame waits at most about that long (default 25 on a GPU, 100\n"
    "                             on a CPU driver; 0: a fixed 64 commands)\n"
    "  --submit-every N           pieces of N commands instead, fixed (default: adapted from 64 where the window shares\n"
    "                             the device's one queue, none where it has its own; 0: one submit per step)\n"
    "  --shared-queue             draw on generation's queue even where the device has a second one (to compare)\n"
    "  --offscreen                no window or display: draw into an image of the device (GPU servers, reports);\n"
    "                             needs --headless-screenshot or --dump-state\n"
    "  --idle-fps F               with no input and no new step, redraw F times a second (default 4; 0: draw\n"
    "                             continuously, as fast as presentation allows)\n";

std::vector<std::string> with_demo_defaults(const std::vector<std::string>& args) {
  auto given = [&](const char* flag) { return std::find(args.begin(), args.end(), flag) != args.end(); };
  if (given("--model") || cli::wants_help(args)) return args;
  const char* env = std::getenv("EZIVK_DEMO_DIR");
  const std::filesystem::path demo = env && *env ? std::filesystem::path(env) : std::filesystem::path(EZIVK_DEMO_DIR);
  if (!std::filesystem::exists(demo / "adapters.safetensors"))
    throw UsageError("--model DIR is required (no demo model with adapters at " + demo.string() + ")");
  const std::string subject = (demo / "subjects" / kDemoSubject.file).string();
  const std::vector<std::pair<const char*, std::string>> defaults = {
      {"--model", demo.string()},
      {"--adapter", (demo / "adapters.safetensors").string()},
      {"--subject", subject},
      {"--subject-prompt", kDemoSubject.subject_prompt},
      {"--prompt", kDemoSubject.prompt},
      {"--seed", "2103"},
      {"--steps", "25"},
      {"--guidance", "5"},
      {"--scheduler", "ddpm"},
      // The demo model's transfer settings (models/demo/README.md): it learned "" as its unconditional caption, and
      // at 64x64 colours settle early, so the subject is on for the last 70% of the steps.
      {"--negative", ""},
      {"--split", "0.7"},
      {"--rounds", "3"}};
  std::vector<std::string> out;
  for (const auto& [flag, value] : defaults)
    if (!given(flag) && !(std::string(flag) == "--subject-prompt" && given("--subject"))) {
      out.push_back(flag);
      out.push_back(value);
    }
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

ViewerArgs parse_args(const std::vector<std::string>& args) {
  ViewerArgs v;
  if (cli::wants_help(args)) {
    v.help = true;
    return v;
  }
  cli::EzigenOptions ez;
  pipeline::TextToImageParams& p = v.run.t2i;
  bool prompt_given = false, seed_given = false, negative_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") v.run.model = option_value(args, i);
    else if (a == "--prompt") { p.prompt = option_value(args, i); prompt_given = true; }
    else if (a == "--negative") { p.negative_prompt = option_value(args, i); negative_given = true; }
    else if (a == "--steps") p.steps = int(parse_int(option_value(args, i), "--steps", 1, 1000));
    else if (a == "--guidance") p.guidance = parse_double(option_value(args, i), "--guidance", 0, 100);
    else if (a == "--seed") { p.seed = uint64_t(parse_int(option_value(args, i), "--seed", 0, INT64_MAX)); seed_given = true; }
    else if (a == "--scheduler") {
      try {
        p.scheduler = sched::parse_scheduler_kind(option_value(args, i));
      } catch (const Error& e) {
        throw UsageError(std::string("--scheduler: ") + e.what());
      }
    } else if (a == "--scheduler-set") p.scheduler_overrides.push_back(option_value(args, i));
    else if (a == "--size") cli::parse_size(option_value(args, i), p.width, p.height);
    else if (a == "--precision") v.run.dtype = cli::parse_precision(option_value(args, i));
    else if (a == "--variant") v.run.variant = option_value(args, i);
    else if (a == "--select") {
      const std::string s = option_value(args, i);
      const auto comma = s.find(',');
      if (comma == std::string::npos) throw UsageError("--select must be X,Y (0..1 each), got '" + s + "'");
      // 1 is the far edge: the capture takes positions in [0, 1), so it becomes the last pixel.
      v.select = std::pair{std::min(float(parse_double(s.substr(0, comma), "--select X", 0, 1)), 0.9999f),
                           std::min(float(parse_double(s.substr(comma + 1), "--select Y", 0, 1)), 0.9999f)};
    } else if (a == "--head") {
      v.run.capture_head = int(parse_int(option_value(args, i), "--head", -1, 1023));
    } else if (a == "--headless-screenshot") v.screenshot = option_value(args, i);
    else if (a == "--dump-state") v.dump_state = option_value(args, i);
    else if (a == "--window") {
      int64_t w = 0, h = 0;
      cli::parse_size(option_value(args, i), w, h, "--window");
      if (w < 320 || h < 240) throw UsageError("--window must be at least 320x240");
      v.width = int(w), v.height = int(h);
    } else if (a == "--tab") {
      v.tab = option_value(args, i);
      if (v.tab != "rounds" && v.tab != "compare" && v.tab != "layers")
        throw UsageError("--tab must be rounds, compare or layers, got '" + v.tab + "'");
    } else if (a == "--close-at") {
      v.close_at = int(parse_int(option_value(args, i), "--close-at", 0, 1000000));
    } else if (a == "--resize-at") {
      const std::string s = option_value(args, i);
      const auto colon = s.find(':');
      if (colon == std::string::npos) throw UsageError("--resize-at must be N:WxH, got '" + s + "'");
      int64_t w = 0, h = 0;
      cli::parse_size(s.substr(colon + 1), w, h, "--resize-at");
      if (w < 320 || h < 240) throw UsageError("--resize-at: the window must be at least 320x240");
      v.resize_at = std::tuple{int(parse_int(s.substr(0, colon), "--resize-at N", 0, 1000000)), int(w), int(h)};
    } else if (a == "--zoom") {
      v.zoom = float(parse_double(option_value(args, i), "--zoom", 1, 32));
    } else if (a == "--idle-frames") {
      v.idle_frames = int(parse_int(option_value(args, i), "--idle-frames", 1, 100000));
    } else if (a == "--save") {
      v.save = parse_save_items(option_value(args, i));
    } else if (a == "--save-dir") {
      v.save_dir = option_value(args, i);
    } else if (a == "--idle-fps") {
      v.idle_fps = parse_double(option_value(args, i), "--idle-fps", 0, 1000);
    } else if (a == "--submit-every") v.submit_every = uint32_t(parse_int(option_value(args, i), "--submit-every", 0, 1000000));
    else if (a == "--shared-queue") v.shared_queue = true;
    else if (a == "--piece-ms") v.piece_ms = parse_double(option_value(args, i), "--piece-ms", 0, 10000);
    else if (a == "--offscreen") v.offscreen = true;
    else if (!ez.parse(args, i)) throw UsageError("unknown option '" + a + "'");
  }
  if (v.run.model.empty()) throw UsageError("--model DIR is required");
  if (v.offscreen && v.screenshot.empty() && v.dump_state.empty())
    throw UsageError("--offscreen shows nothing and takes no input: give --headless-screenshot or --dump-state, which end the run");
  if (!prompt_given) throw UsageError("--prompt TEXT is required");
  if (!seed_given) p.seed = std::random_device{}() & 0x7fffffff;
  if (ez.subjects.empty()) {
    if (ez.any_given) throw UsageError("EZIGen options need --subject IMG");
    return v;
  }
  ez.check(1);
  if (!ez.subject_masks.empty() || !ez.clip_model.empty() || !ez.start_image.empty() || ez.baseline || ez.save_rounds)
    throw UsageError("the viewer does not take --subject-mask, --clip-model, --start-image, --baseline or --save-rounds yet");
  const cli::GenerateCommon common{v.run.model, v.run.variant, "", "", p, v.run.dtype, negative_given, p.scheduler.has_value()};
  pipeline::EzigenParams e = cli::ezigen_params(common, ez);
  v.run.ezigen = std::move(e);
  v.run.adapter = ez.adapter;
  for (size_t i = 0; i < ez.subjects.size(); ++i) {
    v.run.subject_images.push_back(io::read_image(ez.subjects[i]));
    v.run.subject_prompts.push_back(ez.subject_prompts.empty()       ? "a photo of a subject"
                                    : ez.subject_prompts.size() == 1 ? ez.subject_prompts[0]
                                                                     : ez.subject_prompts[i]);
  }
  return v;
}

}  // namespace ezivk::viewer
