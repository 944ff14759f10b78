// `ezivk edit`: EZIGen editing from the command line: a subject drawn into an existing picture inside a mask.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/io/output_set.h"
#include "engine/io/image_file.h"
#include "engine/io/png.h"
#include "engine/pipeline/ezigen_edit.h"
#include "engine/util/error.h"
#include "engine/util/sha256.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/generate_ezigen.h"
#include "tools/ezivk/interrupt.h"
#include "tools/ezivk/progress.h"

namespace ezivk::cli {

namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "usage: ezivk edit --model DIR (--adapter PATH | --reference-attention) --image SCENE --mask MASK\n"
    "                  --subject IMG [--subject-prompt TEXT] --prompt TEXT [options]\n"
    "  Draws the subject into SCENE where MASK is white (255 in its first channel). The scene's short side is\n"
    "  resized to the model size and the centre cropped to multiples of 8. Each round inverts the current image\n"
    "  part way (DPM-Solver++ inverse, empty prompt, no guidance), then runs the transfer steps with the subject on\n"
    "  and blends the source's inverted latent back outside the mask after every step.\n"
    "  --steps N (50)  --guidance G (2)  --seed N  --split S (0.4)  --t-subject T (1)  --precision fp16|fp32\n"
    "  --rounds N | --min-rounds A --max-rounds B --threshold T   (default: 1 round)\n"
    "  --blend reference|aligned   which inverted latent a step blends with: the reference implementation's (one\n"
    "                              step noisier, default) or the one at the step's own noise level\n"
    "  --subject-strength W  --subject-alpha white|ignore  --subject-mask IMG  --similarity  --clip-model\n"
    "                                                                              as for generate\n"
    "  --save-rounds  OUT-round<r>.png as each round finishes     --out FILE.png (edit.png)  --json FILE\n";

}  // namespace

int edit(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::string model, variant, image, mask, prompt, out = "edit.png", json, blend = "reference";
  int steps = 50;
  double guidance = 2.0;
  uint64_t seed = std::random_device{}() & 0x7fffffff;
  ops::DType dtype = ops::DType::F16;
  EzigenOptions ez;
  bool prompt_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") model = option_value(args, i);
    else if (a == "--variant") variant = option_value(args, i);
    else if (a == "--image") image = option_value(args, i);
    else if (a == "--mask") mask = option_value(args, i);
    else if (a == "--prompt") { prompt = option_value(args, i); prompt_given = true; }
    else if (a == "--out") out = option_value(args, i);
    else if (a == "--json") json = option_value(args, i);
    else if (a == "--steps") steps = int(parse_int(option_value(args, i), "--steps", 1, 1000));
    else if (a == "--guidance") guidance = parse_double(option_value(args, i), "--guidance", 0, 100);
    else if (a == "--seed") seed = uint64_t(parse_int(option_value(args, i), "--seed", 0, INT64_MAX));
    else if (a == "--precision") dtype = parse_precision(option_value(args, i));
    else if (a == "--blend") {
      blend = option_value(args, i);
      if (blend != "reference" && blend != "aligned") throw UsageError("--blend must be reference or aligned");
    } else if (a == "--baseline" || a == "--start-image" || a == "--round-guidance" || a == "--round-negative")
      throw UsageError(a + " does not apply to editing");
    else if (!ez.parse(args, i)) throw UsageError("unknown option '" + a + "'");
  }
  if (model.empty() || image.empty() || mask.empty() || ez.subjects.empty() || !prompt_given)
    throw UsageError("--model, --image, --mask, --subject and --prompt are required\n" + std::string(kUsage));
  if (!ez.rounds && !ez.min_rounds && !ez.max_rounds && !ez.threshold) ez.rounds = 1;
  ez.check(1);
  for (const auto& [name, v] : {std::pair<const char*, const std::string*>{"--prompt", &prompt}, {"--out", &out},
                                {"--image", &image}, {"--mask", &mask}, {"--json", &json}})
    expect_utf8(*v, name);
  if (fs::path(out).extension() != ".png") throw UsageError("--out must name a .png file, got '" + out + "'");
  auto round_path = [&](int round) {
    const fs::path o(out);
    return (o.parent_path() / (o.stem().string() + "-round" + std::to_string(round) + ".png")).string();
  };
  // Outputs are checked before anything is read or loaded; the image and the report appear together at the end.
  io::OutputSet outputs;
  outputs.add(out, "--out");
  if (!json.empty()) outputs.add(json, "--json");
  if (ez.save_rounds)
    for (int rd = 1; rd <= (ez.rounds ? *ez.rounds : ez.max_rounds.value_or(9)); ++rd)
      outputs.reserve(round_path(rd), "--save-rounds image");

  // Every input is read before a model is loaded.
  const io::Image8 scene = io::read_image(image), mask_img = io::read_image(mask);
  std::vector<io::Image8> subjects;
  for (const auto& s : ez.subjects) subjects.push_back(io::read_image(s));

  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  Progress progress(stderr);
  progress.line("ezivk edit: " + ctx.caps().name + ", seed " + std::to_string(seed));
  auto sd = pipeline::load_stable_diffusion(ctx, model, dtype, variant, [&](const std::string& s) { progress.line(s); });
  std::optional<pipeline::EzigenWeights> weights;
  if (!ez.adapter.empty()) weights = pipeline::load_ezigen_weights(*sd, ez.adapter);

  const int size = pipeline::subject_size(*sd);
  const int multiple = std::max<int>(8, int(sd->vae.config.downsampling()));
  pipeline::EzigenEditParams p;
  std::string how;
  p.source = pipeline::prepare_edit_source(scene, size, multiple, &how);
  progress.line("source: " + how);
  const int64_t f = sd->vae.config.downsampling();
  p.mask = pipeline::edit_mask_latent(mask_img, scene, size, multiple, p.source.height / f, p.source.width / f);
  p.prompt = prompt;
  p.mode = ez.reference_attention ? pipeline::SubjectMode::Reference : pipeline::SubjectMode::Adapter;
  p.strength = float(ez.strength);
  p.steps = steps;
  p.guidance = guidance;
  p.seed = seed;
  p.split = ez.split;
  p.t_subject = ez.t_subject;
  p.blend = blend == "aligned" ? pipeline::EditBlend::Aligned : pipeline::EditBlend::Reference;
  p.rounds.fixed = ez.rounds;
  p.rounds.min_rounds = ez.min_rounds.value_or(3);
  p.rounds.max_rounds = ez.max_rounds.value_or(9);
  p.rounds.threshold = ez.threshold.value_or(pipeline::default_similarity_threshold(ez.similarity));
  const auto alpha = ez.subject_alpha == "ignore" ? pipeline::SubjectAlpha::Ignore : pipeline::SubjectAlpha::White;
  nlohmann::json subjects_json = nlohmann::json::array();
  for (size_t i = 0; i < subjects.size(); ++i) {
    std::optional<io::Image8> smask;
    if (!ez.subject_masks.empty()) smask = io::read_image(ez.subject_masks[i]);
    const std::string sp = ez.subject_prompts.empty()       ? "a photo of a subject"
                           : ez.subject_prompts.size() == 1 ? ez.subject_prompts[0]
                                                            : ez.subject_prompts[i];
    p.subjects.push_back({pipeline::prepare_subject_image(subjects[i], size, alpha, smask ? &*smask : nullptr), sp,
                          std::nullopt});
    subjects_json.push_back({{"file", ez.subjects[i]}, {"sha256", sha256_file_hex(ez.subjects[i])}, {"prompt", sp}});
  }
  nlohmann::json params = {{"model", model},
                           {"method", "EZIGen editing"},
                           {"mode", ez.reference_attention ? "reference-attention" : "adapter"},
                           {"adapter", ez.adapter},
                           {"prompt", prompt},
                           {"image", {{"file", image}, {"sha256", sha256_file_hex(image)}}},
                           {"mask", {{"file", mask}, {"sha256", sha256_file_hex(mask)}}},
                           {"subjects", subjects_json},
                           {"steps", steps},
                           {"guidance", guidance},
                           {"seed", seed},
                           {"split", p.split},
                           {"t_subject", p.t_subject},
                           {"blend", blend},
                           {"source_preparation", how},
                           {"precision", ops::dtype_name(sd->dtype)}};
  if (p.rounds.fixed) params["rounds"] = *p.rounds.fixed;
  else params["max_rounds"] = p.rounds.max_rounds;

  std::vector<std::string> files;
  auto text = [&] {
    return io::PngText{{"Software", "ezivk"}, {"parameters", params.dump()}, {"prompt", prompt},
                       {"seed", std::to_string(seed)}};
  };
  auto write = [&](const std::string& path, const io::Image8& img) {
    io::write_png(path, img, text());
    files.push_back(path);
    progress.line("saved " + path);
  };
  std::optional<pipeline::ClipImageEmbedder> clip;
  if (!ez.clip_model.empty()) {
    clip.emplace(ctx, ez.clip_model, dtype);
    p.clip = &*clip;
  }
  p.rounds.similarity = ez.similarity;
  InterruptScope interrupt;
  p.cancel = &interrupt.flag();
  int done = 0, total = 0;
  const auto r = pipeline::ezigen_edit(*sd, weights ? &*weights : nullptr, p, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e)) {
      char t[64];
      std::snprintf(t, sizeof t, "round %d %s t=%g", s->round, pipeline::phase_name(s->phase), double(s->timestep));
      progress.step(++done, total, s->seconds, t);
      maybe_test_interrupt(done);
    } else if (auto* st = std::get_if<pipeline::RunStarted>(&e)) {
      total = st->round_steps * st->max_rounds;
    } else if (auto* d = std::get_if<pipeline::RoundDone>(&e)) {
      progress.line("round " + std::to_string(d->round) + (d->stop ? " (last: " + d->reason + ")" : ""));
      if (ez.save_rounds) write(round_path(d->round), *d->image);
      if (d->stop) total = done;
    } else if (std::holds_alternative<pipeline::Failed>(e) || std::holds_alternative<pipeline::CancelledEvent>(e)) {
      progress.finish();
    }
  });
  progress.finish();
  fail_on_validation_messages(ctx);
  params["rounds_done"] = r.rounds.size();
  {
    const auto bytes = io::encode_png(r.image, text(), out);
    outputs.stage(out, [&](std::ostream& fo) {
      fo.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    });
    files.push_back(out);
  }
  if (!json.empty()) {
    nlohmann::json rounds = nlohmann::json::array();
    for (auto& rd : r.rounds)
      rounds.push_back({{"round", rd.round}, {"similarity", rd.similarity.value_or(0)}, {"stop", rd.stop},
                        {"reason", rd.reason}, {"seconds", rd.seconds}});
    const nlohmann::json j = {{"parameters", params},
                              {"device", ctx.caps().name},
                              {"files", files},
                              {"inversion_steps", r.inversion_steps},
                              {"round_first_step", r.round_first_step},
                              {"blend_index", r.blend_index},
                              {"rounds", rounds},
                              {"timings", {{"subject_encoding_s", r.subject_seconds}, {"total_s", r.total_seconds}}},
                              {"device_memory", {{"weights_bytes", r.weight_bytes},
                                                 {"adapter_bytes", r.adapter_bytes},
                                                 {"subject_bytes", r.bank_bytes},
                                                 {"activation_bytes", r.activation_bytes},
                                                 {"state_bytes", r.state_bytes}}}};
    outputs.stage(json, [&](std::ostream& fo) { fo << j.dump(2) << "\n"; });
    files.push_back(json);
  }
  outputs.commit();
  for (auto& fl : files) std::printf("wrote %s\n", fl.c_str());
  return 0;
}

}  // namespace ezivk::cli
