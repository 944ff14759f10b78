// `ezivk bench unet|vae|text`: time whole model forwards, from a model folder or from the built-in SD2.1-base
// architecture with deterministic random weights (no download needed), and report the rate against the FLOPs
// counted from the config (tools/ezivk/model_flops.h) and the device memory the run holds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/context.h"
#include "engine/io/atomic_file.h"
#include "engine/util/error.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "engine/models/sd21_base.h"
#include "engine/models/unet2d_condition.h"
#include "engine/util/torch_randn.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"
#include "tools/ezivk/report_files.h"
#include "tools/ezivk/model_flops.h"

namespace ezivk::cli {
namespace {

using models::Act;
using models::Graph;
using ops::DType;
using ops::Tensor;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: ezivk bench unet|vae|text [--model DIR] [--variant fp16] [--size WxH] [--batch LIST]\n"
    "                                 [--precision fp16|fp32] [--repeat N] [--warmup N] [--encode] [--out FILE]\n"
    "  Times whole forwards of one model part and reports GFLOP/s against the FLOPs counted from its config\n"
    "  (2 x the multiply-adds of every convolution, linear layer and attention matmul) and the device memory the\n"
    "  run holds (weights + activation arena + inputs).\n"
    "  unet   one UNet forward on a latent of size/8, 77 context tokens\n"
    "  vae    VAE decode of a latent of size/8 to size (--encode: also encode an image of size)\n"
    "  text   the text encoder on batch x 77 tokens\n"
    "  --model DIR      a diffusers folder; default: the SD2.1-base architecture with random weights\n"
    "  --size WxH       image size (default: the model's, 512x512 for SD2.1-base)\n"
    "  --batch LIST     comma-separated batch sizes (default 1,2)\n"
    "  --precision P    fp16 (default) or fp32\n"
    "  --repeat N       timed forwards per batch size (default 3 on GPUs, 1 on CPU devices)\n"
    "  --warmup N       untimed forwards after the first one (default 1 on GPUs, 0 on CPU devices)\n"
    "  --out FILE       the table as text (default bench-<part>.txt) and FILE.json\n"
    "  Every batch size's first forward is timed separately: it builds the pipelines and the activation arena.\n";

struct Options {
  std::string what, model, variant, out;
  int64_t width = 0, height = 0;
  std::vector<int64_t> batches{1, 2};
  DType dtype = DType::F16;
  int64_t repeat = 0, warmup = -1;  // defaults depend on the device
  bool encode = false;
};

Options parse(const std::vector<std::string>& args) {
  Options o;
  o.what = args.at(0);
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") o.model = option_value(args, i);
    else if (a == "--variant") {
      o.variant = option_value(args, i);
      if (o.variant != "fp16") throw UsageError("--variant must be fp16, got '" + o.variant + "'");
    } else if (a == "--size") parse_size(option_value(args, i), o.width, o.height);
    else if (a == "--batch") {
      const std::string v = option_value(args, i);
      o.batches.clear();
      size_t start = 0;
      while (start <= v.size()) {
        const size_t end = std::min(v.find(',', start), v.size());
        o.batches.push_back(parse_int(v.substr(start, end - start), "--batch (each entry)", 1, 64));
        start = end + 1;
      }
    } else if (a == "--precision") o.dtype = parse_precision(option_value(args, i));
    else if (a == "--repeat") o.repeat = parse_int(option_value(args, i), "--repeat", 1, 1000);
    else if (a == "--warmup") o.warmup = parse_int(option_value(args, i), "--warmup", 0, 1000);
    else if (a == "--encode") o.encode = true;
    else if (a == "--out") o.out = option_value(args, i);
    else throw UsageError("unknown option '" + a + "' (see ezivk bench " + o.what + " --help)");
  }
  if (o.encode && o.what != "vae") throw UsageError("--encode applies to bench vae only");
  if (o.width && o.what == "text") throw UsageError("--size does not apply to bench text (77 tokens per prompt)");
  if (o.out.empty()) o.out = "bench-" + o.what + ".txt";
  return o;
}

// One measured pass at one batch size.
struct Row {
  std::string pass, input;  // "unet", "[1, 4, 64, 64]"
  int64_t batch = 1;
  double first_ms = 0;
  std::vector<double> ms, gpu_ms;  // per timed run; gpu_ms empty when the device has no usable timestamps
  FlopCount flops;
  uint64_t weight_bytes = 0, activation_bytes = 0, input_bytes = 0;

  double mean_ms() const { return ms.empty() ? 0 : std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size()); }
  double min_ms() const { return ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end()); }
  double mean_gpu_ms() const {
    return gpu_ms.empty() ? 0 : std::accumulate(gpu_ms.begin(), gpu_ms.end(), 0.0) / double(gpu_ms.size());
  }
  double gflops(double ms_) const { return ms_ > 0 ? double(flops.total()) / (ms_ * 1e6) : 0; }
  uint64_t peak_bytes() const { return weight_bytes + activation_bytes + input_bytes; }
};

uint64_t allocated(const models::WeightStore& ws) {
  uint64_t b = 0;
  for (const auto& a : ws.arenas()) b += a.capacity();
  return b;
}

// Device inputs for one batch size, in one arena.
class Inputs {
 public:
  Inputs(gpu::Context& ctx, uint64_t bytes) : ctx_(ctx), arena_(ctx, "bench inputs", bytes + 4096, gpu::MemoryUse::Device) {}
  Tensor randn(std::vector<int64_t> shape, DType dtype, uint64_t seed) {
    Tensor t{{}, dtype, std::move(shape)};
    t.data = arena_.alloc(t.bytes());
    models::upload_floats(ctx_, t, torch_randn(seed, t.numel()));
    return t;
  }
  Tensor fill(std::vector<int64_t> shape, float value) {
    Tensor t{{}, DType::F32, std::move(shape)};
    t.data = arena_.alloc(t.bytes());
    models::upload_floats(ctx_, t, std::vector<float>(size_t(t.numel()), value));
    return t;
  }
  gpu::Slice ids(const std::vector<uint32_t>& v) {
    const gpu::Slice s = arena_.alloc(v.size() * 4);
    ctx_.upload(s, v.data(), v.size() * 4);
    return s;
  }
  uint64_t bytes() const { return arena_.capacity(); }

 private:
  gpu::Context& ctx_;
  gpu::Arena arena_;
};

class Bench {
 public:
  Bench(gpu::Context& ctx, DType dtype, int64_t repeat, int64_t warmup)
      : ctx_(ctx), dtype_(dtype), repeat_(repeat), warmup_(warmup) {}

  // Runs `forward` once untimed-but-reported (pipelines, arena), `warmup` times untimed, `repeat` times timed.
  Row measure(Row row, const std::function<Act(Graph&)>& forward) {
    models::GraphRunner runner(ctx_, "bench " + row.pass, true);
    auto once = [&](const std::string& what) {
      std::printf("  %s batch %lld: %s ...", row.pass.c_str(), (long long)row.batch, what.c_str());
      std::fflush(stdout);
      const uint32_t dispatches = runner.recorder().dispatch_count();
      const auto t0 = Clock::now();
      runner.run(dtype_, forward);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      // GPU time only when every dispatch of the submit was timed (the recorder's query pool is finite).
      const auto& timings = runner.recorder().timings();
      std::optional<double> gpu;
      if (!timings.empty() && timings.size() == runner.recorder().dispatch_count() - dispatches) {
        gpu = 0;
        for (const auto& t : timings) *gpu += t.ms;
      }
      std::printf(" %.1f ms%s\n", ms, gpu ? (" (GPU " + std::to_string(int64_t(*gpu)) + " ms)").c_str() : "");
      std::fflush(stdout);
      return std::pair{ms, gpu};
    };
    row.first_ms = once("first run (pipeline creation)").first;
    for (int64_t i = 0; i < warmup_; ++i) once("warm-up " + std::to_string(i + 1) + "/" + std::to_string(warmup_));
    bool gpu_ok = true;
    for (int64_t i = 0; i < repeat_; ++i) {
      const auto [ms, gpu] = once("run " + std::to_string(i + 1) + "/" + std::to_string(repeat_));
      row.ms.push_back(ms);
      if (gpu) row.gpu_ms.push_back(*gpu);
      gpu_ok = gpu_ok && gpu.has_value();
    }
    if (!gpu_ok) row.gpu_ms.clear();
    row.activation_bytes = runner.activation_bytes();
    return row;
  }

 private:
  gpu::Context& ctx_;
  DType dtype_;
  int64_t repeat_, warmup_;
};

std::string fixed(double v, int decimals) {
  char s[32];
  std::snprintf(s, sizeof s, "%.*f", decimals, v);
  return s;
}

std::string format_table(const std::vector<Row>& rows) {
  std::string t;
  char line[512];
  std::snprintf(line, sizeof line, "%-11s %5s  %-18s %12s %12s %12s %12s %9s %9s %9s  %10s %11s %8s %10s\n", "pass",
                "batch", "input", "first ms", "mean ms", "min ms", "GPU ms", "GFLOP", "GFLOP/s", "GPU GF/s", "weights",
                "activations", "inputs", "peak");
  t += line;
  for (const auto& r : rows) {
    const bool gpu = !r.gpu_ms.empty();
    std::snprintf(line, sizeof line, "%-11s %5lld  %-18s %12.1f %12.1f %12.1f %12s %9.1f %9.2f %9s  %10s %11s %8s %10s\n",
                  r.pass.c_str(), (long long)r.batch, r.input.c_str(), r.first_ms, r.mean_ms(), r.min_ms(),
                  gpu ? fixed(r.mean_gpu_ms(), 1).c_str() : "-", double(r.flops.total()) / 1e9, r.gflops(r.mean_ms()),
                  gpu ? fixed(r.gflops(r.mean_gpu_ms()), 2).c_str() : "-", gpu::format_bytes(r.weight_bytes).c_str(),
                  gpu::format_bytes(r.activation_bytes).c_str(), gpu::format_bytes(r.input_bytes).c_str(),
                  gpu::format_bytes(r.peak_bytes()).c_str());
    t += line;
  }
  return t;
}

nlohmann::json row_json(const Row& r) {
  nlohmann::json j = {{"pass", r.pass},
                      {"batch", r.batch},
                      {"input", r.input},
                      {"first_run_ms", r.first_ms},
                      {"runs_ms", r.ms},
                      {"mean_ms", r.mean_ms()},
                      {"min_ms", r.min_ms()},
                      {"flops", {{"conv", r.flops.conv}, {"linear", r.flops.linear}, {"attention", r.flops.attention},
                                 {"total", r.flops.total()}}},
                      {"gflops_per_s", r.gflops(r.mean_ms())},
                      {"weights_bytes", r.weight_bytes},
                      {"activation_bytes", r.activation_bytes},
                      {"input_bytes", r.input_bytes},
                      {"peak_bytes", r.peak_bytes()}};
  if (!r.gpu_ms.empty()) {
    j["gpu_ms"] = r.gpu_ms;
    j["mean_gpu_ms"] = r.mean_gpu_ms();
    j["gpu_gflops_per_s"] = r.gflops(r.mean_gpu_ms());
  } else {
    j["mean_gpu_ms"] = nullptr;
  }
  return j;
}

}  // namespace

int bench_models(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const Options o = parse(args);
  ReportFiles files(o.out);

  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  DType dtype = o.dtype;
  if (dtype == DType::F16 && !ctx.fp16()) {
    std::fprintf(stderr, "ezivk bench: fp16 is unavailable on this device (or EZIVK_FORCE_FP32 is set); using fp32\n");
    dtype = DType::F32;
  }
  const bool cpu = ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const int64_t repeat = o.repeat ? o.repeat : (cpu ? 1 : 3);
  const int64_t warmup = o.warmup >= 0 ? o.warmup : (cpu ? 0 : 1);

  std::optional<models::ModelFolder> folder;
  if (!o.model.empty()) folder.emplace(o.model, o.variant);
  const std::string source = folder ? o.model : "SD2.1-base architecture (built-in configs), random weights";
  auto config = [&](const std::string& component) {
    return folder ? io::JsonFile(folder->config(component)) : models::sd21_base_config(component);
  };
  // The VAE's factor converts the image size to the latent size for the UNet too.
  const models::VaeConfig vae_cfg = !folder || folder->has("vae") ? models::VaeConfig::from_json(config("vae"))
                                                                  : models::VaeConfig{};
  const int64_t f = vae_cfg.block_out_channels.empty() ? 8 : vae_cfg.downsampling();

  std::printf("ezivk bench %s: %s\n", o.what.c_str(), source.c_str());
  std::printf("device: %s (%s), %s; %lld timed run(s) after %lld warm-up(s) per batch size%s\n",
              ctx.caps().name.c_str(), ctx.caps().driver_info.c_str(), ops::dtype_name(dtype), (long long)repeat,
              (long long)warmup,
              cpu && !o.repeat && o.warmup < 0
                  ? " (CPU device: a full-size forward takes minutes, so --repeat 1 --warmup 0 by default)"
                  : "");
  std::fflush(stdout);

  constexpr uint64_t kSeed = 1;
  constexpr int64_t kTokens = 77;
  Bench bench(ctx, dtype, repeat, warmup);
  std::vector<Row> rows;
  int64_t width = 0, height = 0;
  const auto load_start = Clock::now();
  auto loaded = [&](const models::ComponentReport& r, uint64_t bytes) {
    std::printf("loaded %s: %lld parameters, %s on the device (%.1f s)\n", r.name.c_str(), (long long)r.parameters,
                gpu::format_bytes(bytes).c_str(),
                std::chrono::duration<double>(Clock::now() - load_start).count());
    std::fflush(stdout);
  };
  std::printf("loading weights%s ...\n", folder ? "" : " (generating random values)");
  std::fflush(stdout);

  if (o.what == "unet") {
    auto unet = folder ? models::load_component<models::UNet2DConditionModel, models::UNetConfig>(*folder, "unet", &ctx, dtype)
                       : models::random_component<models::UNet2DConditionModel, models::UNetConfig>(
                             models::UNetConfig::from_json(config("unet")), "unet", &ctx, dtype, kSeed);
    const auto& c = unet.config;
    width = o.width ? o.width : c.sample_size * f;
    height = o.height ? o.height : c.sample_size * f;
    if (width % (f * c.downsampling()) || height % (f * c.downsampling()))
      throw UsageError("--size must be a multiple of " + std::to_string(f * c.downsampling()) +
                       " in both directions for this UNet, got " + std::to_string(width) + "x" + std::to_string(height));
    const uint64_t wbytes = allocated(*unet.weights);
    loaded(unet.report, wbytes);
    for (int64_t b : o.batches) {
      const std::vector<int64_t> xs{b, c.in_channels, height / f, width / f}, cs{b, kTokens, c.cross_attention_dim};
      Inputs in(ctx, (Tensor{{}, dtype, xs}.bytes() + Tensor{{}, dtype, cs}.bytes()) + uint64_t(b) * 4 + 1024);
      const Tensor x = in.randn(xs, dtype, kSeed), t = in.fill({b}, 500.f), ctxt = in.randn(cs, dtype, kSeed + 1);
      Row r{"unet", ops::shape_string(xs), b};
      r.flops = unet_flops(c, b, height / f, width / f, kTokens);
      r.weight_bytes = wbytes;
      r.input_bytes = in.bytes();
      rows.push_back(bench.measure(r, [&](Graph& g) { return unet.model->forward(g, x, t, ctxt); }));
    }
  } else if (o.what == "vae") {
    const auto part = o.encode ? models::AutoencoderKL::Part::Both : models::AutoencoderKL::Part::DecoderOnly;
    auto vae = folder ? models::load_component<models::AutoencoderKL, models::VaeConfig>(*folder, "vae", &ctx, dtype, part)
                      : models::random_component<models::AutoencoderKL, models::VaeConfig>(vae_cfg, "vae", &ctx, dtype,
                                                                                          kSeed, part);
    const auto& c = vae.config;
    // The size the pipeline decodes to: the UNet's sample_size in latent pixels.
    const int64_t default_px =
        (!folder || folder->has("unet")) ? models::UNetConfig::from_json(config("unet")).sample_size * f : c.sample_size;
    width = o.width ? o.width : default_px;
    height = o.height ? o.height : default_px;
    if (width % f || height % f)
      throw UsageError("--size must be a multiple of " + std::to_string(f) + " in both directions for this VAE");
    const uint64_t wbytes = allocated(*vae.weights);
    loaded(vae.report, wbytes);
    for (int64_t b : o.batches) {
      const std::vector<int64_t> zs{b, c.latent_channels, height / f, width / f};
      Inputs in(ctx, Tensor{{}, dtype, zs}.bytes());
      const Tensor z = in.randn(zs, dtype, kSeed);
      Row r{"vae decode", ops::shape_string(zs), b};
      r.flops = vae_decode_flops(c, b, height / f, width / f);
      r.weight_bytes = wbytes;
      r.input_bytes = in.bytes();
      rows.push_back(bench.measure(r, [&](Graph& g) { return vae.model->decode(g, z); }));
    }
    if (o.encode)
      for (int64_t b : o.batches) {
        const std::vector<int64_t> is{b, c.in_channels, height, width};
        Inputs in(ctx, Tensor{{}, dtype, is}.bytes());
        const Tensor img = in.randn(is, dtype, kSeed);
        Row r{"vae encode", ops::shape_string(is), b};
        r.flops = vae_encode_flops(c, b, height, width);
        r.weight_bytes = wbytes;
        r.input_bytes = in.bytes();
        rows.push_back(bench.measure(r, [&](Graph& g) { return vae.model->encode_moments(g, img); }));
      }
  } else {
    auto text = folder ? models::load_component<models::ClipTextModel, models::ClipTextConfig>(*folder, "text_encoder",
                                                                                                &ctx, dtype)
                       : models::random_component<models::ClipTextModel, models::ClipTextConfig>(
                             models::ClipTextConfig::from_json(config("text_encoder")), "text_encoder", &ctx, dtype,
                             kSeed);
    const auto& c = text.config;
    const int64_t seq = std::min(kTokens, c.max_position_embeddings);
    const uint64_t wbytes = allocated(*text.weights);
    loaded(text.report, wbytes);
    for (int64_t b : o.batches) {
      std::vector<uint32_t> ids(size_t(b * seq));
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint32_t((i * 7919 + 1) % uint64_t(c.vocab_size));
      Inputs in(ctx, ids.size() * 4);
      const gpu::Slice dev = in.ids(ids);
      Row r{"text", ops::shape_string({b, seq}), b};
      r.flops = text_encoder_flops(c, b, seq);
      r.weight_bytes = wbytes;
      r.input_bytes = in.bytes();
      rows.push_back(bench.measure(r, [&](Graph& g) { return text.model->forward(g, dev, b, seq); }));
    }
  }
  fail_on_validation_messages(ctx);

  std::string header = "ezivk bench " + o.what + ": " + source + "\n" + "device: " + ctx.caps().name + " (" +
                       ctx.caps().driver_info + "), " + ops::dtype_name(dtype);
  if (o.what != "text") header += ", " + std::to_string(width) + "x" + std::to_string(height) + " pixels";
  header += ", " + std::to_string(repeat) + " timed run(s) after " + std::to_string(warmup) + " warm-up(s)\n";
  const std::string table = format_table(rows);
  const std::string notes =
      "first ms: the first forward at that batch size (pipeline creation, arena allocation); mean/min ms: wall clock\n"
      "around plan + record + submit + wait; GPU ms: the sum of the per-dispatch timestamps; GFLOP: counted from the\n"
      "config (2 x multiply-adds of convolutions, linear layers, attention QK^T and PV); peak: weights + activation\n"
      "arena + inputs (driver overhead and the staging buffer excluded).\n";
  std::printf("\n%s%s%s", header.c_str(), table.c_str(), notes.c_str());

  nlohmann::json j = {{"benchmark", o.what},
                      {"model", folder ? o.model : "built-in SD2.1-base, random weights"},
                      {"device", ctx.caps().name},
                      {"driver", ctx.caps().driver_info},
                      {"device_type", cpu ? "cpu" : "gpu"},
                      {"precision", ops::dtype_name(dtype)},
                      {"repeat", repeat},
                      {"warmup", warmup},
                      {"rows", nlohmann::json::array()}};
  if (o.what != "text") {
    j["width"] = width;
    j["height"] = height;
  }
  for (const auto& r : rows) j["rows"].push_back(row_json(r));
  files.write(header + table + notes, j.dump(2) + "\n");
  return 0;
}

}  // namespace ezivk::cli
