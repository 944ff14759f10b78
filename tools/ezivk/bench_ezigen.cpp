// `ezivk bench ezigen`: a whole EZIGen run (subject encoding, sketch, transfer, fixed rounds) on SD2.1-base shapes
// with random weights and random adapters, or on a model folder: seconds per phase and per round, the cost of a
// step with the subject on against a text-only step, and the device memory held. CPU drivers get 256x256, 10 steps
// and 2 rounds by default (a full-size run takes hours there).
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/io/atomic_file.h"
#include "engine/pipeline/ezigen.h"
#include "engine/util/error.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/synthetic_subject.h"
#include "tools/ezivk/report_files.h"
#include "tools/ezivk/progress.h"

namespace ezivk::cli {

namespace {

const char* kUsage =
    "usage: ezivk bench ezigen [--model DIR [--adapter PATH]] [--size WxH] [--steps N] [--rounds N] [--split S]\n"
    "                          [--precision fp16|fp32] [--out FILE]\n"
    "  Times a whole EZIGen run with one subject: subject encoding, the text-only (sketch) steps, the transfer\n"
    "  steps, each round, and the device memory. Without --model: SD2.1-base shapes, random weights and adapters.\n"
    "  Defaults: --size 512x512 --steps 50 --rounds 6 on GPUs; --size 256x256 --steps 10 --rounds 2 on CPU drivers.\n"
    "  Subjects are encoded at the model's own size. Writes FILE (default bench-ezigen.txt) and FILE.json.\n";


double mean_after_first(const std::vector<double>& v) {
  if (v.empty()) return 0;
  if (v.size() == 1) return v[0];
  double s = 0;
  for (size_t i = 1; i < v.size(); ++i) s += v[i];
  return s / double(v.size() - 1);
}

}  // namespace

int bench_ezigen(const std::vector<std::string>& args) {
  std::string model, adapter_path, out = "bench-ezigen.txt";
  int64_t width = 0, height = 0;
  int steps = 0, rounds = -1;
  double split = 0.4;
  ops::DType dtype = ops::DType::F16;
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") model = option_value(args, i);
    else if (a == "--adapter") adapter_path = option_value(args, i);
    else if (a == "--size") parse_size(option_value(args, i), width, height);
    else if (a == "--steps") steps = int(parse_int(option_value(args, i), "--steps", 1, 1000));
    else if (a == "--rounds") rounds = int(parse_int(option_value(args, i), "--rounds", 0, 100));
    else if (a == "--split") split = parse_double(option_value(args, i), "--split", 0.01, 0.99);
    else if (a == "--precision") dtype = parse_precision(option_value(args, i));
    else if (a == "--out") out = option_value(args, i);
    else throw UsageError("unknown option '" + a + "'");
  }
  if (!adapter_path.empty() && model.empty()) throw UsageError("--adapter needs --model");

  gpu::ContextOptions co;
  co.validation = env_validation();
  ReportFiles files(out);
  gpu::Context ctx(co);
  const bool cpu = ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (steps == 0) steps = cpu ? 10 : 50;
  if (rounds < 0) rounds = cpu ? 2 : 6;
  Progress progress(stderr);
  progress.line("bench ezigen on " + ctx.caps().name + (cpu ? " (CPU driver: small defaults)" : ""));
  auto sd = model.empty() ? pipeline::random_sd21_base(ctx, dtype)
                          : pipeline::load_stable_diffusion(ctx, model, dtype, "", [&](const std::string& s) { progress.line(s); });
  if (width == 0) width = height = model.empty() ? (cpu ? 256 : 512) : pipeline::subject_size(*sd);
  auto weights = !adapter_path.empty() ? pipeline::load_ezigen_weights(*sd, adapter_path)
                                       : pipeline::random_ezigen_weights(*sd);

  pipeline::EzigenParams p;
  p.prompt = "a photo of a dog on the beach";
  p.steps = steps;
  p.seed = 1;
  p.width = width;
  p.height = height;
  p.split = split;
  p.rounds.fixed = rounds;
  pipeline::SubjectImage s{synthetic_subject(pipeline::subject_size(*sd)), "a dog", std::nullopt};
  if (!sd->tokenizer) {  // random weights have no vocabulary: bos, eos and padding
    std::vector<int32_t> ids(77, 0);
    ids[0] = 49406;
    ids[1] = 49407;
    p.prompt_ids = p.negative_ids = p.round_negative_ids = s.prompt_ids = ids;
  }
  p.subjects.push_back(s);

  std::vector<double> sketch_steps, transfer_steps, round_steps;
  int done = 0;
  const int total = steps + rounds * (steps - int(double(steps) - split * steps));
  const auto r = pipeline::ezigen_generate(*sd, &weights, p, [&](const pipeline::Event& e) {
    if (auto* st = std::get_if<pipeline::StepDone>(&e)) {
      (st->phase == pipeline::Phase::Sketch     ? sketch_steps
       : st->phase == pipeline::Phase::Transfer ? transfer_steps
                                                : round_steps)
          .push_back(st->seconds);
      progress.step(++done, total, st->seconds, pipeline::phase_name(st->phase));
    } else if (auto* sd2 = std::get_if<pipeline::StageDone>(&e)) {
      progress.line(sd2->stage + ": " + format_duration(sd2->seconds));
    }
  });
  progress.finish();
  fail_on_validation_messages(ctx);

  double sketch_s = 0, transfer_s = 0;
  for (double v : sketch_steps) sketch_s += v;
  for (double v : transfer_steps) transfer_s += v;
  // The first step of each kind builds pipelines: compare later steps only.
  const double plain = mean_after_first(sketch_steps), with_subject = mean_after_first(round_steps.empty() ? transfer_steps : round_steps);
  const uint64_t peak = r.weight_bytes + r.adapter_bytes + r.bank_bytes + r.activation_bytes + r.state_bytes;
  char buf[512];
  std::string table = "bench ezigen: " + sd->source + ", " + ctx.caps().name + ", " + ops::dtype_name(sd->dtype) + ", " +
                      std::to_string(width) + "x" + std::to_string(height) + ", " + std::to_string(steps) +
                      " steps, split " + std::to_string(split) + ", " + std::to_string(rounds) + " rounds, subject at " +
                      std::to_string(pipeline::subject_size(*sd)) + "px\n";
  std::snprintf(buf, sizeof buf,
                "subject encoding %.2f s | sketch %zu steps %.2f s | transfer %zu steps %.2f s | first pass %.2f s\n",
                r.subject_seconds, sketch_steps.size(), sketch_s, transfer_steps.size(), transfer_s,
                r.first_pass_seconds);
  table += buf;
  for (auto& rd : r.rounds) {
    std::snprintf(buf, sizeof buf, "round %d: %.2f s (similarity %.4f)\n", rd.round, rd.seconds,
                  rd.similarity.value_or(0));
    table += buf;
  }
  std::snprintf(buf, sizeof buf,
                "step: text only %.3f s, with the subject %.3f s (x%.2f) | total %.2f s | peak device memory %s "
                "(weights %s, adapters %s, subject bank %s, activations %s)\n",
                plain, with_subject, plain > 0 ? with_subject / plain : 0.0, r.total_seconds,
                gpu::format_bytes(peak).c_str(), gpu::format_bytes(r.weight_bytes).c_str(),
                gpu::format_bytes(r.adapter_bytes).c_str(), gpu::format_bytes(r.bank_bytes).c_str(),
                gpu::format_bytes(r.activation_bytes).c_str());
  table += buf;
  std::fputs(table.c_str(), stdout);
  nlohmann::json rj = nlohmann::json::array();
  for (auto& rd : r.rounds) rj.push_back({{"round", rd.round}, {"seconds", rd.seconds}});
  const nlohmann::json j = {{"model", sd->source},
                            {"device", ctx.caps().name},
                            {"precision", ops::dtype_name(sd->dtype)},
                            {"width", width},
                            {"height", height},
                            {"steps", steps},
                            {"split", split},
                            {"subject_size", pipeline::subject_size(*sd)},
                            {"subject_encoding_s", r.subject_seconds},
                            {"sketch_s", sketch_s},
                            {"transfer_s", transfer_s},
                            {"first_pass_s", r.first_pass_seconds},
                            {"rounds", rj},
                            {"total_s", r.total_seconds},
                            {"text_step_s", plain},
                            {"subject_step_s", with_subject},
                            {"weights_bytes", r.weight_bytes},
                            {"adapter_bytes", r.adapter_bytes},
                            {"subject_bank_bytes", r.bank_bytes},
                            {"activation_bytes", r.activation_bytes},
                            {"state_bytes", r.state_bytes},
                            {"peak_bytes", peak}};
  files.write(table, j.dump(2) + "\n");
  return 0;
}

}  // namespace ezivk::cli
