#include "tools/ezivk/bench_soak.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/pipeline/ezigen.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/subject_bank.h"
#include "engine/pipeline/text_to_image.h"
#include "engine/util/error.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/report_files.h"
#include "tools/ezivk/synthetic_subject.h"

namespace ezivk::cli {

namespace {

const char* kUsage =
    "usage: ezivk bench soak --model DIR [--runs 1000] [--steps 2] [--ezigen [--adapter CKPT]] [--out FILE]\n"
    "  Generations in one process (with --ezigen each run also does an EZIGen generation, one round); prints host\n"
    "  RSS and device memory after the 1st, 10th, every 100th and the last run. Writes FILE (bench-soak.txt) + .json.\n";


}  // namespace

uint64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * uint64_t(::sysconf(_SC_PAGESIZE));
}

std::vector<SoakSample> run_soak(gpu::Context& ctx, const SoakOptions& o, const std::function<bool(int)>& keep,
                                 const std::function<void(const SoakSample&)>& on_sample) {
  auto sd = pipeline::load_stable_diffusion(ctx, o.model, ops::DType::F16);
  std::optional<pipeline::EzigenWeights> weights;
  if (o.ezigen)
    weights = o.adapter.empty() ? pipeline::random_ezigen_weights(*sd) : pipeline::load_ezigen_weights(*sd, o.adapter);
  std::vector<SoakSample> samples;
  for (int run = 1; run <= o.runs; ++run) {
    pipeline::TextToImageParams t;
    t.prompt = "a photo of a cat";
    t.steps = o.steps;
    t.seed = uint64_t(run);
    (void)pipeline::text_to_image(*sd, t);
    if (o.ezigen) {
      pipeline::EzigenParams p;
      p.prompt = "a photo of a dog on the beach";
      p.steps = std::max(o.steps, 2);
      p.seed = uint64_t(run);
      p.rounds.fixed = 1;
      p.subjects.push_back({synthetic_subject(pipeline::subject_size(*sd)), "a dog", std::nullopt});
      (void)pipeline::ezigen_generate(*sd, &*weights, p);
    }
    if (run == 1 || run == 10 || run == o.runs || (keep && keep(run))) {
      samples.push_back({run, resident_bytes(), ctx.device_memory_live()});
      if (on_sample) on_sample(samples.back());
    }
  }
  return samples;
}

int bench_soak(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  SoakOptions o;
  std::string out = "bench-soak.txt";
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") o.model = option_value(args, i);
    else if (a == "--adapter") o.adapter = option_value(args, i);
    else if (a == "--runs") o.runs = int(parse_int(option_value(args, i), "--runs", 1, 1000000));
    else if (a == "--steps") o.steps = int(parse_int(option_value(args, i), "--steps", 1, 1000));
    else if (a == "--ezigen") o.ezigen = true;
    else if (a == "--out") out = option_value(args, i);
    else throw UsageError("unknown option '" + a + "'\n" + kUsage);
  }
  if (o.model.empty()) throw UsageError(std::string("--model DIR is required\n") + kUsage);
  if (!o.adapter.empty()) o.ezigen = true;
  ReportFiles files(out);
  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  std::string table = "bench soak: " + o.model + ", " + ctx.caps().name + ", " + std::to_string(o.runs) + " runs of " +
                      std::to_string(o.steps) + " steps" + (o.ezigen ? " (text-to-image + EZIGen each)" : "") + "\n" +
                      "   run    host RSS MiB   device MiB\n";
  std::fputs(table.c_str(), stdout);
  nlohmann::json rows = nlohmann::json::array();
  const auto samples = run_soak(ctx, o, [](int run) { return run % 100 == 0; }, [&](const SoakSample& s) {
    char line[96];
    std::snprintf(line, sizeof line, "%6d %15.1f %12.1f\n", s.run, double(s.rss_bytes) / 1048576.0,
                  double(s.device_bytes) / 1048576.0);
    std::fputs(line, stdout);
    std::fflush(stdout);
    table += line;
    rows.push_back({{"run", s.run}, {"rss_bytes", s.rss_bytes}, {"device_bytes", s.device_bytes}});
  });
  fail_on_validation_messages(ctx);
  // Flat from the 10th run on: what the first runs build (pipelines, arenas, caches) is built once.
  const SoakSample* tenth = nullptr;
  for (const auto& s : samples)
    if (s.run == std::min(10, o.runs)) tenth = &s;
  const auto& last = samples.back();
  char summary[200];
  std::snprintf(summary, sizeof summary, "growth from run %d to run %d: host RSS %+.1f MiB, device %+.1f MiB\n",
                tenth->run, last.run, (double(last.rss_bytes) - double(tenth->rss_bytes)) / 1048576.0,
                (double(last.device_bytes) - double(tenth->device_bytes)) / 1048576.0);
  std::fputs(summary, stdout);
  table += summary;
  files.write(table, nlohmann::json({{"model", o.model}, {"device", ctx.caps().name}, {"runs", o.runs},
                                     {"steps", o.steps}, {"ezigen", o.ezigen}, {"samples", rows}})
                         .dump(2) +
                         "\n");
  return 0;
}

}  // namespace ezivk::cli
