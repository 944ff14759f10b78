// `ezivk bench generate`: whole text-to-image runs (text encoder, guided UNet steps, VAE decode) on a model folder or
// on SD2.1-base shapes with random weights: seconds per image, per step, the split between the stages and the
// device memory held. CPU drivers get 256x256 and a few steps by default (a 512x512 image takes hours there).
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/util/error.h"
#include "engine/io/atomic_file.h"
#include "engine/pipeline/text_to_image.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/report_files.h"
#include "tools/ezivk/progress.h"

namespace ezivk::cli {

namespace {

const char* kUsage =
    "usage: ezivk bench generate [--model DIR] [--size WxH] [--steps LIST] [--guidance G] [--scheduler NAME]\n"
    "                            [--precision fp16|fp32] [--profile] [--preview LIST] [--out FILE]\n"
    "  Times whole text-to-image runs: text encoder, every UNet step (the first one separately: it builds the\n"
    "  pipelines), VAE decode, and the device memory held. Without --model: SD2.1-base shapes with random weights.\n"
    "  Defaults: --size 512x512 --steps 25,50 on GPUs; --size 256x256 --steps 3 on CPU drivers (lavapipe).\n"
    "  --profile adds the GPU time of each op over the UNet steps (timestamps).\n"
    "  --preview LIST runs each step count once per preview mode, in turn: off (none), host (every step's x0\n"
    "  downloaded, as events carry it) and device (x0 also copied into a device slot inside the step's submit, as\n"
    "  the viewer asks); it then prints each mode's cost per step over off. Default: off.\n"
    "  Writes FILE (default bench-generate.txt) and FILE.json.\n";

enum class PreviewMode { Off, Host, Device };

const char* preview_name(PreviewMode m) {
  return m == PreviewMode::Off ? "off" : m == PreviewMode::Host ? "host" : "device";
}

// The comma-separated items of an option's value ("a,,b" has an empty middle item, which its parser rejects).
std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    const size_t comma = v.find(',', at);
    out.push_back(v.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

std::vector<PreviewMode> parse_previews(const std::string& v) {
  std::vector<PreviewMode> out;
  for (const std::string& item : split_commas(v)) {
    if (item == "off") out.push_back(PreviewMode::Off);
    else if (item == "host") out.push_back(PreviewMode::Host);
    else if (item == "device") out.push_back(PreviewMode::Device);
    else throw UsageError("--preview: '" + item + "' is not one of off, host, device");
  }
  return out;
}

std::vector<int> parse_list(const std::string& v, const char* option) {
  std::vector<int> out;
  for (const std::string& item : split_commas(v)) out.push_back(int(parse_int(item, option, 1, 1000)));
  return out;
}

}  // namespace

int bench_generate(const std::vector<std::string>& args) {
  std::string model, out = "bench-generate.txt";
  int64_t width = 0, height = 0;
  std::vector<int> steps;
  double guidance = 7.5;
  std::optional<sched::SchedulerKind> scheduler;
  ops::DType dtype = ops::DType::F16;
  bool profile = false;
  std::vector<PreviewMode> previews = {PreviewMode::Off};
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") model = option_value(args, i);
    else if (a == "--size") parse_size(option_value(args, i), width, height);
    else if (a == "--steps") steps = parse_list(option_value(args, i), "--steps");
    else if (a == "--guidance") guidance = parse_double(option_value(args, i), "--guidance", 0, 100);
    else if (a == "--scheduler") {
      try {
        scheduler = sched::parse_scheduler_kind(option_value(args, i));
      } catch (const Error& e) {
        throw UsageError(std::string("--scheduler: ") + e.what());
      }
    } else if (a == "--precision") dtype = parse_precision(option_value(args, i));
    else if (a == "--out") out = option_value(args, i);
    else if (a == "--profile") profile = true;
    else if (a == "--preview") previews = parse_previews(option_value(args, i));
    else throw UsageError("unknown option '" + a + "'");
  }

  gpu::ContextOptions co;
  co.validation = env_validation();
  ReportFiles files(out);
  gpu::Context ctx(co);
  const bool cpu = ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (width == 0) width = height = cpu ? 256 : 512;
  if (steps.empty()) steps = cpu ? std::vector<int>{3} : std::vector<int>{25, 50};
  Progress progress(stderr);
  progress.line("bench generate on " + ctx.caps().name + (cpu ? " (CPU driver: small defaults)" : ""));

  const auto t_load = std::chrono::steady_clock::now();
  auto sd = model.empty() ? pipeline::random_sd21_base(ctx, dtype)
                          : pipeline::load_stable_diffusion(ctx, model, dtype, "", [&](const std::string& s) { progress.line(s); });
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  progress.line("weights loaded in " + format_duration(load_s) + " (" + gpu::format_bytes(sd->weight_bytes()) + ")");

  nlohmann::json runs = nlohmann::json::array();
  std::string table = "bench generate: " + sd->source + ", " + ctx.caps().name + ", " + ops::dtype_name(sd->dtype) + ", " +
                      std::to_string(width) + "x" + std::to_string(height) + ", guidance " + std::to_string(guidance) + "\n" +
                      "steps  preview  total_s  text_s  first_step_s  step_s(after first)  it/s   decode_s  peak_memory\n";
  // The device previews' ring, made on first use (its slot size is the latent's): 8 slots as in the viewer.
  std::optional<gpu::Arena> ring;
  gpu::Slice ring_slice;
  uint64_t ring_slot = 0, ring_next = 0;
  // (steps, mode) -> (sum of seconds per step after the first, runs): a mode listed more than once is averaged
  std::map<std::pair<int, std::string>, std::pair<double, int>> per_step;
  for (int n : steps) for (PreviewMode mode : previews) {
    pipeline::TextToImageParams p;
    p.preview_x0 = mode != PreviewMode::Off;
    if (mode == PreviewMode::Device) {
      p.preview_slot = [&](uint64_t bytes) {
        if (!ring) {
          ring_slot = (bytes + 255) / 256 * 256;
          ring.emplace(ctx, "bench preview ring", ring_slot * 8, gpu::MemoryUse::Device);
          ring_slice = ring->alloc(ring_slot * 8, 256);
        }
        return ring_slice.sub(ring_slot * (ring_next++ % 8), bytes);
      };
    }
    p.prompt = "a photograph of an astronaut riding a horse";
    p.steps = n;
    p.guidance = guidance;
    p.seed = 1;
    p.width = width;
    p.height = height;
    p.scheduler = scheduler;
    p.profile = profile;
    if (!sd->tokenizer) {  // random weights have no vocabulary: bos, eos and padding
      std::vector<int32_t> ids(77, 0);
      ids[0] = 49406;
      ids[1] = 49407;
      p.prompt_ids = ids;
      p.negative_ids = ids;
    }
    Progress run_progress(stderr);  // per run, so rates and ETAs do not mix step counts
    const auto r = pipeline::text_to_image(*sd, p, [&](const pipeline::Event& e) {
      if (auto* s = std::get_if<pipeline::StepDone>(&e)) run_progress.step(s->index + 1, s->total, s->seconds, "");
      else if (auto* st = std::get_if<pipeline::StageDone>(&e)) run_progress.line(st->stage + ": " + format_duration(st->seconds));
    });
    run_progress.finish();
    double later = 0;
    for (size_t i = 1; i < r.step_seconds.size(); ++i) later += r.step_seconds[i];
    const double per = r.step_seconds.size() > 1 ? later / double(r.step_seconds.size() - 1) : r.step_seconds[0];
    const uint64_t peak = r.weight_bytes + r.activation_bytes + r.state_bytes;
    char line[256];
    auto& sum = per_step[{n, preview_name(mode)}];
    sum.first += per, sum.second += 1;
    std::snprintf(line, sizeof line, "%5d  %-7s  %7.1f  %6.2f  %12.2f  %19.2f  %5.3f  %8.2f  %s\n", n, preview_name(mode),
                  r.total_seconds,
                  r.text_seconds, r.step_seconds[0], per, 1.0 / per, r.decode_seconds, gpu::format_bytes(peak).c_str());
    table += line;
    std::fputs(line, stdout);
    nlohmann::json prof = nlohmann::json::array();
    if (profile) {
      double total_ms = 0;
      for (auto& t : r.profile) total_ms += t.ms;
      std::string ptab = "  GPU time over the UNet steps by op (" + std::to_string(n) + " steps):\n";
      for (auto& t : r.profile) {
        char pl[160];
        std::snprintf(pl, sizeof pl, "    %-28s %10.1f ms %5.1f%% %6d dispatches\n", t.op.c_str(), t.ms,
                      total_ms > 0 ? 100 * t.ms / total_ms : 0.0, t.dispatches);
        ptab += pl;
        prof.push_back({{"op", t.op}, {"ms", t.ms}, {"dispatches", t.dispatches}});
      }
      table += ptab;
      std::fputs(ptab.c_str(), stdout);
    }
    runs.push_back({{"steps", n},
                    {"preview", preview_name(mode)},
                    {"total_s", r.total_seconds},
                    {"text_encoder_s", r.text_seconds},
                    {"first_step_s", r.step_seconds[0]},
                    {"step_s_after_first", per},
                    {"it_per_s", 1.0 / per},
                    {"vae_decode_s", r.decode_seconds},
                    {"per_step_s", r.step_seconds},
                    {"weights_bytes", r.weight_bytes},
                    {"activation_bytes", r.activation_bytes},
                    {"state_bytes", r.state_bytes},
                    {"peak_bytes", peak},
                    {"profile", prof}});
  }
  // Each preview mode's cost per step over the runs of the same step count without previews (averaged over the runs
  // of each, e.g. "off,device,off,device", so drifting clocks hit every mode alike).
  nlohmann::json costs = nlohmann::json::array();
  for (const auto& [key, m] : per_step) {
    const auto off = per_step.find({key.first, "off"});
    if (key.second == "off" || off == per_step.end()) continue;
    const double s = m.first / m.second, off_s = off->second.first / off->second.second;
    char line[200];
    std::snprintf(line, sizeof line,
                  "preview %s at %d steps: %+.1f%% per step (%.4f s over %d runs against %.4f s over %d)\n",
                  key.second.c_str(), key.first, 100 * (s / off_s - 1), s, m.second, off_s, off->second.second);
    table += line;
    costs.push_back(
        {{"steps", key.first}, {"preview", key.second}, {"cost_fraction", s / off_s - 1}, {"runs", m.second}});
  }
  fail_on_validation_messages(ctx);
  std::fputs(table.c_str(), stdout);
  const nlohmann::json j = {{"model", sd->source}, {"device", ctx.caps().name}, {"precision", ops::dtype_name(sd->dtype)},
                            {"width", width}, {"height", height}, {"guidance", guidance}, {"load_s", load_s}, {"runs", runs},
                            {"preview_costs", costs}};
  files.write(table, j.dump(2) + "\n");
  return 0;
}

}  // namespace ezivk::cli
