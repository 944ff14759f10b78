// `ezivk generate`: text-to-image from a diffusers folder. Writes PNGs carrying every parameter needed to reproduce
// them (tEXt/iTXt chunks) and, on request, a JSON report with the parameters and timings.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/util/error.h"
#include "engine/io/output_set.h"
#include "engine/models/vae_config.h"
#include "engine/models/model_folder.h"
#include "engine/io/png.h"
#include "engine/pipeline/text_to_image.h"
#include "engine/sched/scheduler_config.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/generate_ezigen.h"
#include "tools/ezivk/interrupt.h"
#include "tools/ezivk/progress.h"

namespace ezivk::cli {

namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "usage: ezivk generate --model DIR --prompt TEXT [options]\n"
    "  Text-to-image with a Stable Diffusion 1.x/2.x diffusers folder.\n"
    "  --negative TEXT        negative prompt (default: empty)\n"
    "  --steps N              scheduler steps (default 50)\n"
    "  --guidance G           classifier-free guidance scale; <= 1 turns it off (default 7.5)\n"
    "  --seed N               seed of torch.randn-identical noise (default: random, printed)\n"
    "  --scheduler NAME       ddim|ddpm|pndm|euler|euler-a|dpmpp2m (default: the folder's scheduler)\n"
    "  --scheduler-set K=V    override a scheduler_config.json key (repeatable), e.g. timestep_spacing=trailing,\n"
    "                         use_karras_sigmas=true, eta=0.5, prediction_type=v_prediction\n"
    "  --size WxH             image size, multiples of the VAE's downsampling (default: the model's native size)\n"
    "  --batch N              images from one seed (default 1)\n"
    "  --precision fp16|fp32  compute precision (default fp16)\n"
    "  --variant fp16         prefer *.fp16.safetensors weight files\n"
    "  --out FILE.png         output (default out.png; with --batch N: FILE-0.png ...)\n"
    "  --json FILE            write a report with every parameter and the timings\n"
    "  Subject-driven generation (EZIGen) with --subject; see below.\n";

struct Options {
  std::string model, variant, out = "out.png", json;
  pipeline::TextToImageParams p;
  std::string scheduler_name;
  ops::DType dtype = ops::DType::F16;
  bool seed_given = false, negative_given = false;
  EzigenOptions ez;
};

Options parse(const std::vector<std::string>& args) {
  Options o;
  bool prompt_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") o.model = option_value(args, i);
    else if (a == "--prompt") { o.p.prompt = option_value(args, i); prompt_given = true; }
    else if (a == "--negative") {
      o.p.negative_prompt = option_value(args, i);
      o.negative_given = true;
    }
    else if (a == "--steps") o.p.steps = int(parse_int(option_value(args, i), "--steps", 1, 1000));
    else if (a == "--guidance") o.p.guidance = parse_double(option_value(args, i), "--guidance", 0, 100);
    else if (a == "--seed") {
      o.p.seed = uint64_t(parse_int(option_value(args, i), "--seed", 0, INT64_MAX));
      o.seed_given = true;
    } else if (a == "--scheduler") {
      o.scheduler_name = option_value(args, i);
      try {
        o.p.scheduler = sched::parse_scheduler_kind(o.scheduler_name);
      } catch (const Error& e) {
        throw UsageError(std::string("--scheduler: ") + e.what());
      }
    } else if (a == "--scheduler-set") o.p.scheduler_overrides.push_back(option_value(args, i));
    else if (a == "--size") parse_size(option_value(args, i), o.p.width, o.p.height);
    else if (a == "--batch") o.p.batch = int(parse_int(option_value(args, i), "--batch", 1, 64));
    else if (a == "--precision") o.dtype = parse_precision(option_value(args, i));
    else if (a == "--variant") {
      o.variant = option_value(args, i);
      if (o.variant != "fp16") throw UsageError("--variant must be fp16, got '" + o.variant + "'");
    } else if (a == "--out") o.out = option_value(args, i);
    else if (a == "--json") o.json = option_value(args, i);
    else if (!o.ez.parse(args, i)) throw UsageError("unknown option '" + a + "'");
  }
  if (o.model.empty()) throw UsageError("--model DIR is required");
  if (!prompt_given) throw UsageError("--prompt TEXT is required");
  // Text that ends up in the PNG and the JSON report must be UTF-8: refuse it now, not after minutes of work.
  for (const auto& [name, v] : {std::pair<const char*, const std::string*>{"--prompt", &o.p.prompt},
                                {"--negative", &o.p.negative_prompt}, {"--model", &o.model}, {"--out", &o.out},
                                {"--json", &o.json}})
    expect_utf8(*v, name);
  for (const auto& v : o.p.scheduler_overrides) expect_utf8(v, "--scheduler-set");
  if (fs::path(o.out).extension() != ".png") throw UsageError("--out must name a .png file, got '" + o.out + "'");
  if (!o.seed_given) o.p.seed = std::random_device{}() & 0x7fffffff;
  return o;
}

std::string output_path(const std::string& out, int index, int batch) {
  if (batch == 1) return out;
  const fs::path p(out);
  return (p.parent_path() / (p.stem().string() + "-" + std::to_string(index) + p.extension().string())).string();
}

}  // namespace

int generate(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    std::fputs(kEzigenUsage, stdout);
    return 0;
  }
  Options o = parse(args);
  if (o.p.width || o.p.height) {
    // The size suits the model's VAE or the run stops now, naming the model's factor (not a generic 8).
    const models::ModelFolder folder(o.model, o.variant);
    if (folder.has("vae")) {
      const int64_t f = models::VaeConfig::from_file(folder.config("vae")).downsampling();
      check_size_multiple(o.p.width, o.p.height, f, "this model's VAE downsamples by " + std::to_string(f));
    }
  }
  if (!o.ez.subjects.empty()) {
    o.ez.check(o.p.batch);
    GenerateCommon c{o.model, o.variant, o.out, o.json, o.p, o.dtype, o.negative_given, o.p.scheduler.has_value()};
    return generate_ezigen(c, o.ez);
  }
  if (o.ez.any_given) throw UsageError("EZIGen options need --subject IMG");
  // Every output is checked before minutes of work, and all of them appear together at the end or none does.
  io::OutputSet outputs;
  for (int b = 0; b < o.p.batch; ++b) outputs.add(output_path(o.out, b, o.p.batch), "--out");
  if (!o.json.empty()) outputs.add(o.json, "--json");

  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  Progress progress(stderr);
  progress.line("ezivk generate: " + ctx.caps().name + ", seed " + std::to_string(o.p.seed));
  auto sd = pipeline::load_stable_diffusion(ctx, o.model, o.dtype, o.variant,
                                            [&](const std::string& s) { progress.line(s); });
  InterruptScope interrupt;
  o.p.cancel = &interrupt.flag();
  const auto result = pipeline::text_to_image(*sd, o.p, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e)) {
      char t[32];
      std::snprintf(t, sizeof t, "t=%g", double(s->timestep));
      progress.step(s->index + 1, s->total, s->seconds, t);
      maybe_test_interrupt(s->index + 1);
    } else if (auto* n = std::get_if<pipeline::Notice>(&e)) {
      progress.line("warning: " + n->text);
    } else if (auto* st = std::get_if<pipeline::StageDone>(&e)) {
      progress.line(st->stage + ": " + format_duration(st->seconds));
    } else if (std::holds_alternative<pipeline::Failed>(e) || std::holds_alternative<pipeline::CancelledEvent>(e)) {
      progress.finish();  // the error follows on its own line
    } else if (auto* r = std::get_if<pipeline::RunStarted>(&e)) {
      progress.line(std::to_string(r->steps) + " steps of " + r->scheduler + " at " + std::to_string(r->width) + "x" +
                    std::to_string(r->height) + (r->guided ? " with guidance" : " without guidance"));
    }
  });
  progress.finish();
  fail_on_validation_messages(ctx);  // EZIVK_VALIDATION=1: a layer message makes the run a failure
  if (result.decode_tiles > 1)
    std::printf("the VAE decoded each image in %d overlapping tiles (its whole decode is wider than this device's "
                "storage-buffer range)\n", result.decode_tiles);

  const std::string size = std::to_string(result.width) + "x" + std::to_string(result.height);
  nlohmann::json params = {{"model", o.model},
                           {"prompt", o.p.prompt},
                           {"negative_prompt", o.p.negative_prompt},
                           {"steps", o.p.steps},
                           {"guidance", o.p.guidance},
                           {"seed", o.p.seed},
                           {"scheduler", result.scheduler},
                           {"scheduler_overrides", o.p.scheduler_overrides},
                           {"size", size},
                           {"batch", o.p.batch},
                           {"precision", ops::dtype_name(sd->dtype)},
                           {"variant", o.variant}};
  std::vector<std::string> files;
  for (int b = 0; b < o.p.batch; ++b) {
    const std::string path = output_path(o.out, b, o.p.batch);
    io::PngText text = {{"Software", "ezivk"}, {"parameters", params.dump()}};
    for (auto& [k, v] : params.items()) text.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    if (o.p.batch > 1) text.emplace_back("batch_index", std::to_string(b));
    const auto bytes = io::encode_png(result.images[size_t(b)], text, path);
    outputs.stage(path, [&](std::ostream& f) { f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())); });
    files.push_back(path);
  }
  if (!o.json.empty()) {
    double steps_total = 0;
    for (double s : result.step_seconds) steps_total += s;
    const double later = result.step_seconds.size() > 1 ? (steps_total - result.step_seconds[0]) / double(result.step_seconds.size() - 1)
                                                        : steps_total;
    nlohmann::json j = {{"parameters", params},
                        {"device", ctx.caps().name},
                        {"files", files},
                        {"timesteps", result.timesteps},
                        {"prompt_tokens", result.prompt_tokens.length},
                        {"prompt_truncated", result.prompt_tokens.truncated},
                        {"timings", {{"text_encoder_s", result.text_seconds},
                                     {"steps_s", steps_total},
                                     {"first_step_s", result.step_seconds.empty() ? 0.0 : result.step_seconds[0]},
                                     {"seconds_per_step_after_first", later},
                                     {"vae_decode_s", result.decode_seconds},
                                     {"vae_decode_tiles", result.decode_tiles},
                                     {"total_s", result.total_seconds},
                                     {"per_step_s", result.step_seconds}}},
                        {"device_memory", {{"weights_bytes", result.weight_bytes},
                                           {"activation_bytes", result.activation_bytes},
                                           {"state_bytes", result.state_bytes},
                                           {"total_bytes", result.weight_bytes + result.activation_bytes + result.state_bytes}}}};
    outputs.stage(o.json, [&](std::ostream& f) {
      f << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    });
    files.push_back(o.json);
  }
  outputs.commit();
  for (const auto& f : files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace ezivk::cli
