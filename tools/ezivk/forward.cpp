// `ezivk forward unet|text|vae-encode|vae-decode`: one forward of one component of a model folder on inputs from
// .npy files (or seeded random ones), writing the output and, with --dump, every named intermediate as .npy. Run
// the same inputs through diffusers and compare the files block by block to find where a divergence starts.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/util/error.h"
#include "engine/io/npy.h"
#include "engine/io/output_set.h"
#include "engine/models/autoencoder_kl.h"
#include "engine/models/clip_text_model.h"
#include "engine/models/clip_tokenizer.h"
#include "engine/models/component.h"
#include "engine/models/graph_runner.h"
#include "engine/models/unet2d_condition.h"
#include "engine/util/torch_randn.h"
#include "tools/ezivk/cli_args.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {

void fail_on_validation_messages(gpu::Context& ctx) {
  const auto msgs = ctx.validation_messages();
  if (msgs.empty()) return;
  fail("the Vulkan validation layer reported " + std::to_string(msgs.size()) + " message(s); the first: " +
       msgs.front());
}

namespace {

namespace fs = std::filesystem;
using models::Act;
using models::Graph;
using ops::DType;
using ops::Tensor;

constexpr const char* kUsage =
    "usage: ezivk forward unet|text|vae-encode|vae-decode --model DIR [inputs] [--precision fp16|fp32]\n"
    "                     [--variant fp16] [--out OUT.npy] [--dump DIR [--dump-filter PREFIX,...]] [--seed N]\n"
    "  One forward of one component of a diffusers folder. Inputs are .npy files (any float dtype; ids any\n"
    "  integer dtype); an input not given is drawn from torch.randn with --seed (default 0) and written next to\n"
    "  the output as OUT.<input>.npy, so the same values can be fed to diffusers.\n"
    "  unet        --sample S.npy [B,4,h,w]  --timestep T.npy [B] or a number (default 500)\n"
    "              --context C.npy [B,77,cross_attention_dim]\n"
    "  text        --ids IDS.npy [B,77] or --prompt \"text\" (the folder's tokenizer, batch 1)\n"
    "              random ids: uniform over the vocabulary\n"
    "  vae-encode  --image I.npy [B,3,H,W] in [-1,1] (random: randn clamped to [-1,1]); writes the moments\n"
    "              [B,2*latent,h,w] after quant_conv: mean = channels [0,latent), logvar = the rest, unclamped\n"
    "  vae-decode  --latent Z.npy [B,latent,h,w], already divided by the VAE's scaling_factor (what diffusers\n"
    "              passes to vae.decode); writes the raw decoder output, before x/2+0.5 and clamping\n"
    "  random inputs take --batch N (default 1) and --size WxH (image pixels; default the model's size)\n"
    "  --out FILE         the output as float32 .npy (default forward-<component>.npy)\n"
    "  --dump DIR         every dump point (unet.conv_in, unet.down_blocks.0, ..., text.layers.N,\n"
    "                     vae.decoder.up_blocks.N, ...) as DIR/<name>.npy, float32\n"
    "  --dump-filter P,.. only dump points whose names start with one of these prefixes\n"
    "  --precision P      fp16 (default) or fp32 weights and activations\n";

struct Options {
  std::string what, model, variant, out, dump;
  std::vector<std::string> dump_filter;
  std::optional<std::string> sample, timestep, context, ids, prompt, image, latent;
  uint64_t seed = 0;
  int64_t batch = 0, width = 0, height = 0;  // 0: from the files or the model
  DType dtype = DType::F16;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = std::min(s.find(',', start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Options parse(const std::vector<std::string>& args) {
  Options o;
  o.what = args.at(0);
  if (o.what != "unet" && o.what != "text" && o.what != "vae-encode" && o.what != "vae-decode")
    throw UsageError("unknown component '" + o.what + "' (expected unet, text, vae-encode or vae-decode)");
  // An input option: only for its component.
  auto input = [&](size_t& i, const std::string& what, std::optional<std::string>& field) {
    if (o.what != what) throw UsageError(args[i] + " is an input of forward " + what + ", not of forward " + o.what);
    field = option_value(args, i);
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--model") o.model = option_value(args, i);
    else if (a == "--variant") {
      o.variant = option_value(args, i);
      if (o.variant != "fp16") throw UsageError("--variant must be fp16, got '" + o.variant + "'");
    } else if (a == "--precision") o.dtype = parse_precision(option_value(args, i));
    else if (a == "--out") o.out = option_value(args, i);
    else if (a == "--dump") o.dump = option_value(args, i);
    else if (a == "--dump-filter") {
      o.dump_filter = split_commas(option_value(args, i));
      if (o.dump_filter.empty()) throw UsageError("--dump-filter needs at least one name prefix");
    } else if (a == "--seed") o.seed = uint64_t(parse_int(option_value(args, i), "--seed", 0, INT64_MAX));
    else if (a == "--batch") o.batch = parse_int(option_value(args, i), "--batch", 1, 64);
    else if (a == "--size") parse_size(option_value(args, i), o.width, o.height);
    else if (a == "--sample") input(i, "unet", o.sample);
    else if (a == "--timestep") input(i, "unet", o.timestep);
    else if (a == "--context") input(i, "unet", o.context);
    else if (a == "--ids") input(i, "text", o.ids);
    else if (a == "--prompt") input(i, "text", o.prompt);
    else if (a == "--image") input(i, "vae-encode", o.image);
    else if (a == "--latent") input(i, "vae-decode", o.latent);
    else throw UsageError("unknown option '" + a + "' (see ezivk forward --help)");
  }
  if (o.model.empty()) throw UsageError("--model DIR is required");
  if (o.ids && o.prompt) throw UsageError("give --ids or --prompt, not both");
  if (o.prompt && o.batch > 1) throw UsageError("--prompt makes a batch of 1; use --ids for more");
  if (!o.dump_filter.empty() && o.dump.empty()) throw UsageError("--dump-filter needs --dump DIR");
  if (o.out.empty()) o.out = "forward-" + o.what + ".npy";
  return o;
}

// The output path with ".npy" replaced by ".<name>.npy": where a drawn input is written.
std::string forward_side_path(const Options& o, const std::string& name) {
  std::string base = o.out;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0) base.resize(base.size() - 4);
  return base + "." + name + ".npy";
}

// The inputs this run will draw (and write next to the output) because their option is missing.
std::vector<std::string> drawn_inputs(const Options& o) {
  if (o.what == "unet") {
    std::vector<std::string> v;
    if (!o.sample) v.push_back("sample");
    if (!o.context) v.push_back("context");
    return v;
  }
  if (o.what == "text") return o.ids || o.prompt ? std::vector<std::string>{} : std::vector<std::string>{"ids"};
  if (o.what == "vae-encode") return o.image ? std::vector<std::string>{} : std::vector<std::string>{"image"};
  return o.latent ? std::vector<std::string>{} : std::vector<std::string>{"latent"};
}

// A float input: from a .npy file, or drawn and written next to the output.
struct HostInput {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

HostInput read_input(const std::string& path, const std::string& option) {
  HostInput in;
  try {
    const io::NpyArray a = io::read_npy(path);
    in = HostInput{a.shape, a.as_f32()};
  } catch (const Error& e) {
    // The reader names the file; the user also needs to know which option it was given to.
    std::string what = e.what();
    if (what.rfind(path, 0) != 0) what = path + ": " + what;
    fail(option + " " + what);
  }
  for (float v : in.values)
    if (!std::isfinite(v)) fail(path + " (" + option + "): holds a non-finite value");
  return in;
}

class Run {
 public:
  Run(const Options& o, gpu::Context& ctx, io::OutputSet& outputs) : o_(o), ctx_(ctx), outputs_(outputs), gen_(o.seed) {}

  std::string side_path(const std::string& name) const { return forward_side_path(o_, name); }
  // A generated input goes out with the output, never before it: a failed run leaves no side files behind.
  void stage(const std::string& path, const io::NpyArray& a) {
    outputs_.stage(path, [&](std::ostream& f) { io::write_npy(f, a, path); });
    written_.push_back(path);
  }

  // `option`'s file when given; else randn (seeded; the generator continues across inputs) of `shape`.
  HostInput input(const std::optional<std::string>& file, const std::string& option, const std::string& name,
                  const std::vector<int64_t>& shape, bool clamp_unit = false) {
    if (file) {
      HostInput in = read_input(*file, option);
      std::printf("%-9s %s %s\n", (name + ":").c_str(), ops::shape_string(in.shape).c_str(), file->c_str());
      return in;
    }
    int64_t n = 1;
    for (auto d : shape) n *= d;
    HostInput in{shape, gen_.randn(n)};
    if (clamp_unit)
      for (auto& v : in.values) v = std::clamp(v, -1.f, 1.f);
    const std::string path = side_path(name);
    io::NpyArray a{"<f4", in.shape, std::vector<std::byte>(in.values.size() * 4)};
    std::memcpy(a.data.data(), in.values.data(), a.data.size());
    stage(path, a);
    std::printf("%-9s %s torch.randn(generator=manual_seed(%llu))%s, written with the output to %s\n",
                (name + ":").c_str(), ops::shape_string(shape).c_str(), (unsigned long long)o_.seed,
                clamp_unit ? ".clamp(-1, 1)" : "", path.c_str());
    return in;
  }

  // Device copies of the inputs, each in its own small arena.
  Tensor upload(const HostInput& in, DType dtype) {
    Tensor t{{}, dtype, in.shape};
    arenas_.emplace_back(ctx_, "forward input", std::max<uint64_t>(t.bytes(), 4) + 256, gpu::MemoryUse::Device);
    t.data = arenas_.back().alloc(std::max<uint64_t>(t.bytes(), 4));
    models::upload_floats(ctx_, t, in.values);
    return t;
  }
  gpu::Slice upload_ids(const std::vector<uint32_t>& ids) {
    arenas_.emplace_back(ctx_, "forward ids", ids.size() * 4 + 256, gpu::MemoryUse::Device);
    const gpu::Slice s = arenas_.back().alloc(ids.size() * 4);
    ctx_.upload(s, ids.data(), ids.size() * 4);
    return s;
  }

  std::vector<std::string>& written() { return written_; }
  uint64_t seed() const { return o_.seed; }

 private:
  const Options& o_;
  gpu::Context& ctx_;
  io::OutputSet& outputs_;
  TorchGenerator gen_;
  std::deque<gpu::Arena> arenas_;  // one per input; a deque never moves them
  std::vector<std::string> written_;
};

void expect_dims(const HostInput& in, const std::string& option, const std::string& want, size_t rank,
                 const std::vector<std::pair<size_t, int64_t>>& fixed) {
  bool ok = in.shape.size() == rank;
  for (auto& [i, v] : fixed) ok = ok && in.shape[i] == v;
  for (auto d : in.shape) ok = ok && d > 0;
  if (!ok) throw UsageError(option + " must be " + want + ", got " + ops::shape_string(in.shape));
}

// Image size from --size, else the model's default; checked against the downsampling factor.
void image_size(const Options& o, int64_t default_px, int64_t multiple, int64_t& w, int64_t& h) {
  w = o.width ? o.width : default_px;
  h = o.height ? o.height : default_px;
  if (w % multiple || h % multiple)
    throw UsageError("--size must be a multiple of " + std::to_string(multiple) + " in both directions, got " +
                     std::to_string(w) + "x" + std::to_string(h));
}

int64_t vae_factor(const models::ModelFolder& folder) {
  return folder.has("vae") ? models::VaeConfig::from_file(folder.config("vae")).downsampling() : 8;
}

Tensor forward_unet(const Options& o, const models::ModelFolder& folder, gpu::Context& ctx, DType dtype, Run& run,
                    models::GraphRunner& runner, const models::DumpOptions* dump) {
  auto unet = models::load_component<models::UNet2DConditionModel, models::UNetConfig>(folder, "unet", &ctx, dtype);
  const auto& c = unet.config;
  const int64_t f = vae_factor(folder);
  int64_t w = 0, h = 0;
  image_size(o, c.sample_size * f, f * c.downsampling(), w, h);
  const int64_t batch = o.batch ? o.batch : 1;
  const HostInput sample = run.input(o.sample, "--sample", "sample", {batch, c.in_channels, h / f, w / f});
  expect_dims(sample, "--sample", "[B, " + std::to_string(c.in_channels) + ", h, w]", 4, {{1, c.in_channels}});
  const int64_t B = sample.shape[0];
  if (sample.shape[2] % c.downsampling() || sample.shape[3] % c.downsampling())
    throw UsageError("--sample: the latent's height and width must be multiples of " +
                     std::to_string(c.downsampling()) + ", got " + ops::shape_string(sample.shape));
  const HostInput context = run.input(o.context, "--context", "context", {B, 77, c.cross_attention_dim});
  expect_dims(context, "--context", "[" + std::to_string(B) + ", tokens, " + std::to_string(c.cross_attention_dim) + "]",
              3, {{0, B}, {2, c.cross_attention_dim}});
  HostInput t;
  std::error_code ec;
  if (o.timestep && !fs::exists(*o.timestep, ec)) {  // a number, not a file
    t = {{B}, std::vector<float>(size_t(B), float(parse_double(*o.timestep, "--timestep (no such file, so a number)", 0, 1e6)))};
    std::printf("%-9s %s all %g\n", "timestep:", ops::shape_string(t.shape).c_str(), double(t.values[0]));
  } else if (o.timestep) {
    t = read_input(*o.timestep, "--timestep");
    if (t.values.size() == 1) t = {{B}, std::vector<float>(size_t(B), t.values[0])};
    expect_dims(t, "--timestep", "[" + std::to_string(B) + "] or one value", 1, {{0, B}});
    std::printf("%-9s %s %s\n", "timestep:", ops::shape_string(t.shape).c_str(), o.timestep->c_str());
  } else {
    t = {{B}, std::vector<float>(size_t(B), 500.f)};
    std::printf("%-9s %s all 500 (default)\n", "timestep:", ops::shape_string(t.shape).c_str());
  }
  const Tensor xs = run.upload(sample, dtype), ts = run.upload(t, DType::F32), cs = run.upload(context, dtype);
  return runner.run(dtype, [&](Graph& g) { return unet.model->forward(g, xs, ts, cs); }, dump);
}

Tensor forward_text(const Options& o, const models::ModelFolder& folder, gpu::Context& ctx, DType dtype, Run& run,
                    models::GraphRunner& runner, const models::DumpOptions* dump) {
  auto text = models::load_component<models::ClipTextModel, models::ClipTextConfig>(folder, "text_encoder", &ctx, dtype);
  const auto& c = text.config;
  std::vector<int64_t> shape;
  std::vector<int64_t> ids;
  if (o.ids) {
    const io::NpyArray a = io::read_npy(*o.ids);
    ids = a.as_i64();
    shape = a.shape;
    if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1 || shape[1] > c.max_position_embeddings)
      throw UsageError("--ids must be [B, tokens] with 1 to " + std::to_string(c.max_position_embeddings) +
                       " tokens, got " + ops::shape_string(shape));
    std::printf("%-9s %s %s\n", "ids:", ops::shape_string(shape).c_str(), o.ids->c_str());
  } else if (o.prompt) {
    const auto tok = models::ClipTokenizer::from_folder(folder.tokenizer_dir());
    const auto r = tok.encode(*o.prompt);
    ids.assign(r.ids.begin(), r.ids.end());
    shape = {1, int64_t(ids.size())};
    std::printf("%-9s %s from the prompt: %d tokens%s, padded with id %d\n", "ids:", ops::shape_string(shape).c_str(),
                r.length, r.truncated ? " (truncated)" : "", tok.pad());
  } else {
    const int64_t B = o.batch ? o.batch : 1, S = std::min<int64_t>(77, c.max_position_embeddings);
    std::mt19937_64 rng(run.seed());
    std::uniform_int_distribution<int64_t> d(0, c.vocab_size - 1);
    shape = {B, S};
    for (int64_t i = 0; i < B * S; ++i) ids.push_back(d(rng));
    io::NpyArray a{"<i8", shape, std::vector<std::byte>(ids.size() * 8)};
    std::memcpy(a.data.data(), ids.data(), a.data.size());
    const std::string path = run.side_path("ids");
    run.stage(path, a);
    std::printf("%-9s %s uniform over the vocabulary (std::mt19937_64 seed %llu), written with the output to %s\n", "ids:",
                ops::shape_string(shape).c_str(), (unsigned long long)run.seed(), path.c_str());
  }
  std::vector<uint32_t> u(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      fail("forward text: token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
           " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    u[i] = uint32_t(ids[i]);
  }
  const gpu::Slice dev = run.upload_ids(u);
  return runner.run(dtype, [&](Graph& g) { return text.model->forward(g, dev, shape[0], shape[1]); }, dump);
}

Tensor forward_vae(const Options& o, const models::ModelFolder& folder, gpu::Context& ctx, DType dtype, Run& run,
                   models::GraphRunner& runner, const models::DumpOptions* dump) {
  const bool encode = o.what == "vae-encode";
  const auto part = encode ? models::AutoencoderKL::Part::EncoderOnly : models::AutoencoderKL::Part::DecoderOnly;
  auto vae = models::load_component<models::AutoencoderKL, models::VaeConfig>(folder, "vae", &ctx, dtype, part);
  const auto& c = vae.config;
  const int64_t f = c.downsampling();
  int64_t w = 0, h = 0;
  const int64_t default_px = folder.has("unet") ? models::UNetConfig::from_file(folder.config("unet")).sample_size * f
                                                : c.sample_size;
  image_size(o, default_px, f, w, h);
  const int64_t batch = o.batch ? o.batch : 1;
  if (encode) {
    const HostInput img = run.input(o.image, "--image", "image", {batch, c.in_channels, h, w}, true);
    expect_dims(img, "--image", "[B, " + std::to_string(c.in_channels) + ", H, W]", 4, {{1, c.in_channels}});
    if (img.shape[2] % f || img.shape[3] % f)
      throw UsageError("--image: height and width must be multiples of " + std::to_string(f) + ", got " +
                       ops::shape_string(img.shape));
    const Tensor x = run.upload(img, dtype);
    return runner.run(dtype, [&](Graph& g) { return vae.model->encode_moments(g, x); }, dump);
  }
  const HostInput z = run.input(o.latent, "--latent", "latent", {batch, c.latent_channels, h / f, w / f});
  expect_dims(z, "--latent", "[B, " + std::to_string(c.latent_channels) + ", h, w]", 4, {{1, c.latent_channels}});
  const Tensor x = run.upload(z, dtype);
  return runner.run(dtype, [&](Graph& g) { return vae.model->decode(g, x); }, dump);
}

using FileTimes = std::map<fs::path, fs::file_time_type>;

FileTimes npy_files(const fs::path& dir) {
  FileTimes t;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npy") t[e.path()] = e.last_write_time();
  return t;
}

}  // namespace

int forward(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.empty()) throw UsageError(std::string("missing component\n") + kUsage);
  const Options o = parse(args);
  // The output and every input this run draws are checked (and kept distinct) before any work; they are written
  // together at the end.
  io::OutputSet outputs;
  outputs.add(o.out, "--out");
  for (const auto& name : drawn_inputs(o)) outputs.add(forward_side_path(o, name), "the drawn " + name + " input");

  const models::ModelFolder folder(o.model, o.variant);
  gpu::ContextOptions co;
  co.validation = env_validation();
  gpu::Context ctx(co);
  DType dtype = o.dtype;
  if (dtype == DType::F16 && !ctx.fp16()) {
    std::fprintf(stderr, "ezivk forward: fp16 is unavailable on this device (or EZIVK_FORCE_FP32 is set); using fp32\n");
    dtype = DType::F32;
  }
  std::printf("forward %s of %s in %s on %s\n", o.what.c_str(), o.model.c_str(), ops::dtype_name(dtype),
              ctx.caps().name.c_str());

  std::optional<models::DumpOptions> dump;
  FileTimes before;
  if (!o.dump.empty()) {
    std::error_code ec;
    fs::create_directories(o.dump, ec);
    if (!fs::is_directory(o.dump)) fail("--dump: cannot create the directory '" + o.dump + "'");
    dump = models::DumpOptions{o.dump, o.dump_filter};
    before = npy_files(o.dump);
  }

  Run run(o, ctx, outputs);
  models::GraphRunner runner(ctx, "forward " + o.what);
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor out = o.what == "unet"   ? forward_unet(o, folder, ctx, dtype, run, runner, dump ? &*dump : nullptr)
                     : o.what == "text" ? forward_text(o, folder, ctx, dtype, run, runner, dump ? &*dump : nullptr)
                                        : forward_vae(o, folder, ctx, dtype, run, runner, dump ? &*dump : nullptr);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<float> y = models::download_floats(ctx, out);
  fail_on_validation_messages(ctx);

  {
    io::NpyArray a{"<f4", out.shape, std::vector<std::byte>(y.size() * 4)};
    std::memcpy(a.data.data(), y.data(), a.data.size());
    outputs.stage(o.out, [&](std::ostream& f) { io::write_npy(f, a, o.out); });
    outputs.commit();
  }
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (float v : y) {
    sum += v;
    sq += double(v) * v;
    lo = std::min(lo, double(v));
    hi = std::max(hi, double(v));
  }
  const double n = double(std::max<size_t>(y.size(), 1)), mean = sum / n;
  std::printf("output:   %s mean %.6g std %.6g min %.6g max %.6g (%.2f s with loading)\n",
              ops::shape_string(out.shape).c_str(), mean, std::sqrt(std::max(0.0, sq / n - mean * mean)), lo, hi,
              seconds);

  std::printf("wrote %s\n", o.out.c_str());
  for (const auto& p : run.written()) std::printf("wrote %s\n", p.c_str());
  if (dump) {
    // New or rewritten files in the order the forward wrote them.
    std::vector<std::pair<fs::file_time_type, fs::path>> dumped;
    for (const auto& [p, t] : npy_files(o.dump)) {
      const auto it = before.find(p);
      if (it == before.end() || it->second != t) dumped.push_back({t, p});
    }
    std::sort(dumped.begin(), dumped.end());
    for (const auto& [t, p] : dumped) std::printf("wrote %s\n", p.string().c_str());
    if (dumped.empty()) std::printf("no dump point matched --dump-filter\n");
    else std::printf("%zu dump points in %s\n", dumped.size(), o.dump.c_str());
  }
  return 0;
}

}  // namespace ezivk::cli
