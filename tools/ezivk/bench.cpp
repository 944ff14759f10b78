// `ezivk bench ops`: times every kernel on the shapes of SD2.1-base at 512×512 (64×64 latent), next to the
// device's measured arithmetic and copy peaks; prints a table and writes it (text + JSON) to a file.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/device_report.h"
#include "engine/util/error.h"
#include "engine/io/atomic_file.h"
#include "engine/gpu/recorder.h"
#include "tools/ezivk/bench_ops.h"
#include "tools/ezivk/bench_soak.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/report_files.h"

namespace ezivk::cli {
namespace {

struct Options {
  bool quick = false;
  bool profile = false;
  int repeat = 0;  // 0: 3 on GPUs, 1 on CPU drivers
  std::string out = "bench-ops.txt";
  std::string filter;
  ops::DType dtype = ops::DType::F16;
};

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError("option " + a + " needs a value");
      return args[++i];
    };
    if (a == "--quick")
      o.quick = true;
    else if (a == "--profile")
      o.profile = true;
    else if (a == "--out")
      o.out = value();
    else if (a == "--filter")
      o.filter = value();
    else if (a == "--repeat") {
      const std::string v = value();
      try {
        o.repeat = std::stoi(v);
      } catch (...) {
        o.repeat = -1;
      }
      if (o.repeat < 1 || o.repeat > 1000) throw UsageError("--repeat must be a whole number from 1 to 1000, got '" + v + "'");
    } else if (a == "--dtype") {
      const std::string v = value();
      if (v == "f16")
        o.dtype = ops::DType::F16;
      else if (v == "f32")
        o.dtype = ops::DType::F32;
      else
        throw UsageError("--dtype must be f16 or f32, got '" + v + "'");
    } else
      throw UsageError("unknown option '" + a + "'");
  }
  return o;
}

void usage() {
  std::puts(
      "usage: ezivk bench ops [--quick] [--dtype f16|f32] [--repeat N] [--filter TEXT] [--profile] [--out FILE]\n"
      "  Times the kernels on SD2.1-base shapes at 512x512 (64x64 latent; --quick: 32x32) and reports GFLOP/s\n"
      "  or GB/s with the fraction of this device's measured peaks (an FMA-bound kernel and a large copy).\n"
      "  --profile prints the GPU time of every dispatch. Writes FILE (default bench-ops.txt) and FILE.json.\n"
      "usage: ezivk bench unet|vae|text [--model DIR] [--size WxH] [--batch 1,2] [--precision fp16|fp32] ...\n"
      "  Times whole model forwards (see `ezivk bench unet --help`).\n"
      "usage: ezivk bench generate [--model DIR] [--size WxH] [--steps 25,50] ...\n"
      "  Times whole text-to-image runs (see `ezivk bench generate --help`).\n"
      "usage: ezivk bench ezigen [--model DIR] [--size WxH] [--steps N] [--rounds N] ...\n"
      "  Times a whole EZIGen run per phase and round (see `ezivk bench ezigen --help`).\n"
      "usage: ezivk bench soak --model DIR [--runs 1000] [--ezigen] ...\n"
      "  Many generations in one process; host RSS and device memory must stay flat (see `ezivk bench soak --help`).");
}

}  // namespace

int bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "unet" || args[0] == "vae" || args[0] == "text") return bench_models(args);
  if (args[0] == "generate") return bench_generate(args);
  if (args[0] == "ezigen") return bench_ezigen(args);
  if (args[0] == "soak") return bench_soak(args);
  if (args[0] != "ops") throw UsageError("unknown benchmark '" + args[0] + "' (expected: ops, unet, vae, text, generate, ezigen or soak)");
  if (wants_help(args)) {
    usage();
    return 0;
  }
  Options o = parse(args);
  ReportFiles files(o.out);

  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  if (ctx.caps().timestamp_valid_bits == 0) throw Error("device '" + ctx.caps().name + "' has no GPU timestamps to time kernels with");
  if (o.dtype == ops::DType::F16 && !ctx.fp16()) {
    std::fprintf(stderr, "ezivk bench: fp16 is unavailable on this device (or EZIVK_FORCE_FP32 is set); using f32\n");
    o.dtype = ops::DType::F32;
  }
  const bool cpu = ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (o.repeat == 0) o.repeat = cpu ? 1 : 3;

  BenchReport report = run_op_benchmarks(ctx, {o.quick, o.repeat, o.filter, o.dtype, o.profile}, [](const BenchRow& r) {
    std::printf("%s\n", format_row(r).c_str());
    std::fflush(stdout);
  });
  const std::string text = format_report(report);
  std::printf("\n%s", report.summary.c_str());
  files.write(text, report_json(report).dump(2) + "\n");
  return 0;
}

}  // namespace ezivk::cli
