// `ezivk generate --subject`: EZIGen from the command line. Every output carries the parameters that reproduce it
// (subject files by SHA-256), intermediate images are written as soon as they are finished, and Ctrl-C stops
// after the current step without writing anything half-done.
#include "tools/ezivk/generate_ezigen.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/io/atomic_file.h"
#include "engine/io/image_file.h"
#include "engine/io/output_set.h"
#include "engine/io/png.h"
#include "engine/io/resize.h"
#include "engine/pipeline/ezigen.h"
#include "engine/util/error.h"
#include "engine/util/sha256.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/interrupt.h"
#include "tools/ezivk/progress.h"

namespace ezivk::cli {

namespace fs = std::filesystem;

const char* kEzigenUsage =
    "\n"
    "usage: ezivk generate --model DIR --prompt TEXT --subject IMG (--adapter PATH | --reference-attention) [options]\n"
    "  EZIGen: draws the subject of IMG in the scene of the prompt. Defaults follow the authors' reference: DDPM,\n"
    "  50 steps, guidance 7.5, negative prompt \"dark, blur, defoucus, lack of content, dizzy.\" for the first pass.\n"
    "  --adapter PATH          the released checkpoint folder (model.safetensors), the file itself, or an\n"
    "                          adapters-only file from `ezivk adapter extract`\n"
    "  --reference-attention   no adapter weights: the subject's tokens join attn1's keys and values (training-free)\n"
    "  --subject-strength W    the reference mode's weight on the subject's keys and values (default 1)\n"
    "  --subject IMG           PNG or JPEG of the subject (repeatable: several subjects)\n"
    "  --subject-prompt TEXT   caption of each subject, in order, or one for all (default \"a photo of a subject\")\n"
    "  --subject-mask IMG      white where the subject is (repeatable, one per subject)\n"
    "  --subject-alpha white|ignore  an alpha channel whitens the background (default) or is dropped\n"
    "  --split S               share of steps with the subject on, in (0, 1) (default 0.4)\n"
    "  --t-subject T           timestep the subject is noised to (default 1)\n"
    "  --rounds N              exactly N transfer rounds (N >= 0)\n"
    "  --min-rounds A --max-rounds B --threshold T   auto-stop bounds (default 3, 9, the measure's threshold)\n"
    "  --similarity latent|clip  auto-stop measure: correlation of consecutive images' VAE latents (default,\n"
    "                          threshold 0.985), or the reference's: cosine of CLIP image embeddings (0.99)\n"
    "  --clip-model DIR        a transformers CLIPVisionModelWithProjection folder (e.g. openai/clip-vit-base-patch32)\n"
    "  --round-guidance G      guidance in the rounds (default: --guidance)\n"
    "  --round-negative TEXT   negative prompt of the rounds (default \"\")\n"
    "  --save-rounds           also OUT-first.png, OUT-sketch.png, OUT-round<r>.png as each is finished\n"
    "  --baseline              also OUT-text.png: the text-only image of the same seed\n"
    "  --start-image PNG       start the rounds from this image instead of a first pass\n";

bool EzigenOptions::parse(const std::vector<std::string>& args, size_t& i) {
  const std::string& a = args[i];
  auto given = [&] { any_given = true; };
  if (a == "--subject") subjects.push_back(option_value(args, i));
  else if (a == "--subject-prompt") { subject_prompts.push_back(option_value(args, i)); given(); }
  else if (a == "--subject-mask") { subject_masks.push_back(option_value(args, i)); given(); }
  else if (a == "--subject-alpha") {
    subject_alpha = option_value(args, i);
    if (subject_alpha != "white" && subject_alpha != "ignore")
      throw UsageError("--subject-alpha must be white or ignore, got '" + subject_alpha + "'");
    given();
  } else if (a == "--adapter") { adapter = option_value(args, i); given(); }
  else if (a == "--reference-attention") { reference_attention = true; given(); }
  else if (a == "--subject-strength") { strength = parse_double(option_value(args, i), "--subject-strength", 0, 10); given(); }
  else if (a == "--split") {
    split = parse_double(option_value(args, i), "--split", 0, 1);
    if (split <= 0 || split >= 1) throw UsageError("--split must be in (0, 1), got " + args[i]);
    given();
  } else if (a == "--t-subject") { t_subject = int(parse_int(option_value(args, i), "--t-subject", 0, 999)); given(); }
  else if (a == "--rounds") { rounds = int(parse_int(option_value(args, i), "--rounds", 0, 100)); given(); }
  else if (a == "--min-rounds") { min_rounds = int(parse_int(option_value(args, i), "--min-rounds", 1, 100)); given(); }
  else if (a == "--max-rounds") { max_rounds = int(parse_int(option_value(args, i), "--max-rounds", 1, 100)); given(); }
  else if (a == "--threshold") { threshold = parse_double(option_value(args, i), "--threshold", -1, 1); given(); }
  else if (a == "--similarity") {
    similarity = option_value(args, i);
    if (similarity != "latent" && similarity != "clip")
      throw UsageError("--similarity must be latent or clip, got '" + similarity + "'");
    given();
  } else if (a == "--clip-model") { clip_model = option_value(args, i); given(); }
  else if (a == "--round-guidance") { round_guidance = parse_double(option_value(args, i), "--round-guidance", 0, 100); given(); }
  else if (a == "--round-negative") { round_negative = option_value(args, i); given(); }
  else if (a == "--save-rounds") { save_rounds = true; given(); }
  else if (a == "--baseline") { baseline = true; given(); }
  else if (a == "--start-image") { start_image = option_value(args, i); given(); }
  else return false;
  return true;
}

void EzigenOptions::check(int batch) const {
  if (adapter.empty() && !reference_attention)
    throw UsageError("--subject needs adapter weights (--adapter PATH) or the training-free --reference-attention");
  if (!adapter.empty() && reference_attention)
    throw UsageError("--adapter and --reference-attention exclude each other");
  if (batch != 1) throw UsageError("--batch > 1 with a subject is not supported yet");
  if (subject_prompts.size() > 1 && subject_prompts.size() != subjects.size())
    throw UsageError("give one --subject-prompt per --subject (" + std::to_string(subjects.size()) + ") or one for all");
  if (!subject_masks.empty() && subject_masks.size() != subjects.size())
    throw UsageError("give one --subject-mask per --subject");
  if (rounds && (min_rounds || max_rounds || threshold))
    throw UsageError("--rounds N is a fixed count; it excludes --min-rounds, --max-rounds and --threshold");
  if (min_rounds && max_rounds && *min_rounds > *max_rounds)
    throw UsageError("--min-rounds must not exceed --max-rounds");
  if (similarity == "clip" && clip_model.empty())
    throw UsageError("--similarity clip needs --clip-model DIR (a CLIPVisionModelWithProjection folder)");
  if (!clip_model.empty() && similarity != "clip") throw UsageError("--clip-model is used by --similarity clip only");
  for (const auto& [name, v] : {std::pair<const char*, const std::string*>{"--round-negative", &round_negative},
                                {"--adapter", &adapter}, {"--start-image", &start_image}})
    expect_utf8(*v, name);
  for (const auto& v : subject_prompts) expect_utf8(v, "--subject-prompt");
  for (const auto& v : subjects) expect_utf8(v, "--subject");
}

namespace {

std::string sibling(const std::string& out, const std::string& suffix) {
  const fs::path p(out);
  return (p.parent_path() / (p.stem().string() + "-" + suffix + p.extension().string())).string();
}

io::PngText png_text(const nlohmann::json& params, const std::string& what) {
  io::PngText text = {{"Software", "ezivk"}, {"parameters", params.dump()}, {"image", what}};
  for (auto& [k, v] : params.items())
    if (v.is_string()) text.emplace_back(k, v.get<std::string>());
  return text;
}

}  // namespace

pipeline::EzigenParams ezigen_params(const GenerateCommon& c, const EzigenOptions& ez) {
  pipeline::EzigenParams p;
  p.prompt = c.p.prompt;
  p.negative = c.negative_given ? c.p.negative_prompt : pipeline::kEzigenNegative;
  p.round_negative = ez.round_negative;
  p.mode = ez.reference_attention ? pipeline::SubjectMode::Reference : pipeline::SubjectMode::Adapter;
  p.strength = float(ez.strength);
  p.steps = c.p.steps;
  p.guidance = c.p.guidance;
  p.round_guidance = ez.round_guidance.value_or(c.p.guidance);
  p.seed = c.p.seed;
  p.scheduler = c.scheduler_given ? c.p.scheduler : std::optional(sched::SchedulerKind::DDPM);
  p.scheduler_overrides = c.p.scheduler_overrides;
  p.width = c.p.width;
  p.height = c.p.height;
  p.split = ez.split;
  p.t_subject = ez.t_subject;
  p.baseline = ez.baseline;
  p.rounds.fixed = ez.rounds;
  p.rounds.min_rounds = ez.min_rounds.value_or(3);
  p.rounds.max_rounds = ez.max_rounds.value_or(9);
  p.rounds.similarity = ez.similarity;
  p.rounds.threshold = ez.threshold.value_or(pipeline::default_similarity_threshold(ez.similarity));
  return p;
}

int generate_ezigen(const GenerateCommon& c, const EzigenOptions& ez) {
  // Outputs are checked before anything is loaded: the final image (and the text-only baseline) and the report
  // appear together at the end; saved rounds go out one by one as they finish, each atomically.
  io::OutputSet outputs;
  outputs.add(c.out, "--out");
  if (ez.baseline) outputs.add(sibling(c.out, "text"), "--baseline image");
  if (!c.json.empty()) outputs.add(c.json, "--json");
  if (ez.save_rounds) {
    outputs.reserve(sibling(c.out, "sketch"), "--save-rounds image");
    outputs.reserve(sibling(c.out, "first"), "--save-rounds image");
    const int most = ez.rounds ? *ez.rounds : ez.max_rounds.value_or(9);
    for (int r = 1; r <= most; ++r) outputs.reserve(sibling(c.out, "round" + std::to_string(r)), "--save-rounds image");
  }

  // Inputs first: a subject that is not an image fails before any model is loaded.
  std::vector<io::Image8> raw, masks;
  nlohmann::json subjects_json = nlohmann::json::array();
  for (size_t i = 0; i < ez.subjects.size(); ++i) {
    raw.push_back(io::read_image(ez.subjects[i]));
    nlohmann::json s = {{"file", ez.subjects[i]}, {"sha256", sha256_file_hex(ez.subjects[i])}};
    if (!ez.subject_masks.empty()) {
      masks.push_back(io::read_image(ez.subject_masks[i]));
      if (masks.back().width < 1 || masks.back().height < 1) fail(ez.subject_masks[i] + ": the mask is empty");
      s["mask"] = ez.subject_masks[i];
      s["mask_sha256"] = sha256_file_hex(ez.subject_masks[i]);
    }
    subjects_json.push_back(s);
  }
  std::optional<io::Image8> start;
  if (!ez.start_image.empty()) start = io::read_image(ez.start_image);

  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  Progress progress(stderr);
  progress.line("ezivk generate (EZIGen): " + ctx.caps().name + ", seed " + std::to_string(c.p.seed));
  auto sd = pipeline::load_stable_diffusion(ctx, c.model, c.dtype, c.variant,
                                            [&](const std::string& s) { progress.line(s); });
  std::optional<pipeline::EzigenWeights> weights;
  if (!ez.adapter.empty()) {
    progress.line("loading adapters from " + ez.adapter);
    weights = pipeline::load_ezigen_weights(*sd, ez.adapter);
    if (weights->unet_tensors_changed)
      progress.line("the checkpoint's main UNet differs from the model's in " +
                    std::to_string(weights->unet_tensors_changed) + " of " + std::to_string(weights->unet_tensors) +
                    " tensors: generating with the checkpoint's");
  }

  pipeline::EzigenParams p = ezigen_params(c, ez);
  const int size = pipeline::subject_size(*sd);
  const auto alpha = ez.subject_alpha == "ignore" ? pipeline::SubjectAlpha::Ignore : pipeline::SubjectAlpha::White;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string prompt = ez.subject_prompts.empty()       ? "a photo of a subject"
                               : ez.subject_prompts.size() == 1 ? ez.subject_prompts[0]
                                                                : ez.subject_prompts[i];
    p.subjects.push_back({pipeline::prepare_subject_image(raw[i], size, alpha, masks.empty() ? nullptr : &masks[i]),
                          prompt, std::nullopt});
  }
  if (start) {
    const int64_t w = c.p.width ? c.p.width : size, h = c.p.height ? c.p.height : size;
    // A saved round is RGB; an alpha channel is dropped as the reference's convert("RGB") does.
    p.start_image = io::resize_bilinear(io::to_rgb(*start), int(w), int(h));
  }

  nlohmann::json params = {{"model", c.model},
                           {"prompt", p.prompt},
                           {"negative_prompt", p.negative},
                           {"round_negative_prompt", p.round_negative},
                           {"steps", p.steps},
                           {"guidance", p.guidance},
                           {"round_guidance", p.round_guidance},
                           {"seed", p.seed},
                           {"scheduler", sched::scheduler_kind_name(*p.scheduler)},
                           {"scheduler_overrides", p.scheduler_overrides},
                           {"precision", ops::dtype_name(sd->dtype)},
                           {"method", "EZIGen"},
                           {"mode", ez.reference_attention ? "reference-attention" : "adapter"},
                           {"adapter", ez.adapter},
                           {"subjects", subjects_json},
                           {"subject_prompts", nlohmann::json::array()},
                           {"subject_alpha", ez.subject_alpha},
                           {"split", p.split},
                           {"t_subject", p.t_subject},
                           {"similarity", ez.similarity}};
  for (auto& s : p.subjects) params["subject_prompts"].push_back(s.prompt);
  if (ez.reference_attention) params["subject_strength"] = p.strength;
  if (p.rounds.fixed) params["rounds"] = *p.rounds.fixed;
  else {
    params["min_rounds"] = p.rounds.min_rounds;
    params["max_rounds"] = p.rounds.max_rounds;
    params["threshold"] = p.rounds.threshold;
  }
  if (start) params["start_image"] = {{"file", ez.start_image}, {"sha256", sha256_file_hex(ez.start_image)}};

  std::vector<std::string> files;
  auto write = [&](const std::string& path, const io::Image8& img, const std::string& what) {
    io::write_png(path, img, png_text(params, what));
    files.push_back(path);
    progress.line("saved " + path);
  };
  auto stage = [&](const std::string& path, const io::Image8& img, const std::string& what) {
    const auto bytes = io::encode_png(img, png_text(params, what), path);
    outputs.stage(path, [&](std::ostream& f) {
      f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    });
    files.push_back(path);
  };

  std::optional<pipeline::ClipImageEmbedder> clip;
  if (!ez.clip_model.empty()) {
    progress.line("loading CLIP image tower from " + ez.clip_model);
    clip.emplace(ctx, ez.clip_model, c.dtype);
    p.clip = &*clip;
    params["clip_model"] = ez.clip_model;
  }
  InterruptScope interrupt;
  p.cancel = &interrupt.flag();
  int calls_done = 0, total_calls = 0, first_steps = 0, round_steps = 0, max_rounds = 0;
  const auto result = pipeline::ezigen_generate(*sd, weights ? &*weights : nullptr, p, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e)) {
      ++calls_done;
      char t[96];
      if (s->phase == pipeline::Phase::Round)
        std::snprintf(t, sizeof t, "round %d/%s%d t=%g", s->round, p.rounds.fixed ? "" : "<=", max_rounds,
                      double(s->timestep));
      else
        std::snprintf(t, sizeof t, "%s t=%g", pipeline::phase_name(s->phase), double(s->timestep));
      progress.step(calls_done, total_calls, s->seconds, t);
      maybe_test_interrupt(calls_done);
    } else if (auto* r = std::get_if<pipeline::RunStarted>(&e)) {
      first_steps = p.start_image ? 0 : r->steps;
      round_steps = r->round_steps;
      max_rounds = r->max_rounds;
      total_calls = first_steps + max_rounds * round_steps;
      progress.line(std::to_string(r->steps) + " steps of " + r->scheduler + " at " + std::to_string(r->width) + "x" +
                    std::to_string(r->height) + ", subject on from step " +
                    std::to_string(int(double(r->steps) - p.split * r->steps)) + ", " +
                    (p.rounds.fixed ? std::to_string(max_rounds) : "up to " + std::to_string(max_rounds)) +
                    " rounds of " + std::to_string(round_steps) + " steps");
    } else if (auto* sk = std::get_if<pipeline::SketchReady>(&e)) {
      if (ez.save_rounds && sk->x0_image) write(sibling(c.out, "sketch"), *sk->x0_image, "sketch");
    } else if (auto* d = std::get_if<pipeline::RoundDone>(&e)) {
      if (d->round == 0) {
        if (ez.save_rounds) write(sibling(c.out, "first"), *d->image, "first pass");
      } else {
        char line[160];
        std::snprintf(line, sizeof line, "round %d: similarity %s%s%s", d->round,
                      d->similarity ? std::to_string(*d->similarity).c_str() : "-", d->stop ? ", stop: " : "",
                      d->reason.c_str());
        progress.line(line);
        if (ez.save_rounds) write(sibling(c.out, "round" + std::to_string(d->round)), *d->image, "round " + std::to_string(d->round));
        // Auto-stop ended early: the bar's total shrinks to what ran.
        if (d->stop) total_calls = calls_done;
      }
    } else if (auto* n = std::get_if<pipeline::Notice>(&e)) {
      progress.line("warning: " + n->text);
    } else if (auto* st = std::get_if<pipeline::StageDone>(&e)) {
      progress.line(st->stage + ": " + format_duration(st->seconds));
    } else if (std::holds_alternative<pipeline::Failed>(e) || std::holds_alternative<pipeline::CancelledEvent>(e)) {
      progress.finish();
    }
  });
  progress.finish();
  fail_on_validation_messages(ctx);

  params["size"] = std::to_string(result.width) + "x" + std::to_string(result.height);
  params["rounds_done"] = result.rounds.size();
  if (result.baseline) stage(sibling(c.out, "text"), *result.baseline, "text only (baseline)");
  stage(c.out, result.image, "final");
  if (!c.json.empty()) {
    nlohmann::json rounds = nlohmann::json::array();
    double rounds_s = 0;
    for (auto& r : result.rounds) {
      rounds.push_back({{"round", r.round},
                        {"similarity", r.similarity ? nlohmann::json(*r.similarity) : nlohmann::json()},
                        {"stop", r.stop},
                        {"reason", r.reason},
                        {"seconds", r.seconds}});
      rounds_s += r.seconds;
    }
    nlohmann::json j = {
        {"parameters", params},
        {"device", ctx.caps().name},
        {"files", files},
        {"timesteps", result.timesteps},
        {"switch_step", result.switch_step},
        {"round_first_step", result.round_first_step},
        {"round_noise_timestep", result.t_round},
        {"generator_a_values_at_split", result.gen_a_values_at_split},
        {"rounds", rounds},
        {"timings", {{"subject_encoding_s", result.subject_seconds},
                     {"first_pass_s", result.first_pass_seconds},
                     {"rounds_s", rounds_s},
                     {"baseline_s", result.baseline_seconds},
                     {"total_s", result.total_seconds}}},
        {"device_memory", {{"weights_bytes", result.weight_bytes},
                           {"adapter_bytes", result.adapter_bytes},
                           {"subject_bank_bytes", result.bank_bytes},
                           {"activation_bytes", result.activation_bytes},
                           {"state_bytes", result.state_bytes},
                           {"total_bytes", result.weight_bytes + result.adapter_bytes + result.bank_bytes +
                                               result.activation_bytes + result.state_bytes}}}};
    outputs.stage(c.json, [&](std::ostream& f) {
      f << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    });
    files.push_back(c.json);
  }
  outputs.commit();
  for (auto& f : files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace ezivk::cli
