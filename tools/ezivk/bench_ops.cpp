#include "tools/ezivk/bench_ops.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <chrono>

#include "engine/gpu/recorder.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/gemm.h"
#include "tools/ezivk/bench_case.h"
#include "engine/util/error.h"
#include "engine/util/half.h"
#include <random>

namespace ezivk::cli {

using ops::DType;
using ops::Tensor;

Bufs::Bufs(gpu::Context& ctx, uint64_t capacity) : ctx_(ctx), arena_(ctx, "bench", capacity, gpu::MemoryUse::Device) {}

Tensor Bufs::make(DType t, std::vector<int64_t> shape) {
    Tensor x{{}, t, std::move(shape)};
    x.data = arena_.alloc(x.bytes());
    std::mt19937 rng(uint32_t(arena_.used()));
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    if (t == DType::F32) {
      std::vector<float> v(size_t(x.numel()));
      for (auto& f : v) f = d(rng);
      ctx_.upload(x.data, v.data(), x.bytes());
    } else {
      std::vector<uint16_t> v(size_t(x.numel()));
      for (auto& h : v) h = float_to_half(d(rng));
      ctx_.upload(x.data, v.data(), x.bytes());
    }
    return x;
}

std::string dims(std::initializer_list<int64_t> d, const char* sep) {
  std::string s;
  for (auto v : d) s += (s.empty() ? "" : sep) + std::to_string(v);
  return s;
}

namespace {

double time_case(gpu::Context& ctx, const Case& c, int repeat, bool profile = false) {
  gpu::Recorder rec(ctx, true);
  c.record(rec);  // warm-up: builds pipelines, faults memory in
  rec.submit_and_wait();
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    c.record(rec);
    rec.submit_and_wait();
    double ms = 0;
    for (const auto& t : rec.timings()) ms += t.ms;
    best = std::min(best, ms);
    if (profile && r == repeat - 1)
      for (const auto& t : rec.timings()) std::printf("    %-30s %10.3f ms\n", t.label.c_str(), t.ms);
  }
  return best;
}

}  // namespace

BenchReport run_op_benchmarks(gpu::Context& ctx, const BenchConfig& cfg, const std::function<void(const BenchRow&)>& on_row) {
  BenchReport rep;
  rep.device = ctx.caps().name;
  rep.driver = ctx.caps().driver_info;
  rep.dtype = ops::dtype_name(cfg.dtype);
  const bool cpu = ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const DType dt = cfg.dtype;

  // --- measured peaks -----------------------------------------------------------------------------------
  {
    Bufs b(ctx, 16 << 20);
    gpu::Slice out = b.raw(4 << 20);
    const uint32_t wg = 64, groups = cpu ? 64 : 8192, iters = cpu ? 4096 : 16384;
    const uint32_t spec[] = {wg};
    const auto& p = ctx.pipeline("peak/peak_fma", spec);
    struct {
      uint32_t iters;
      float seed;
    } push{iters, 0.5f};
    Case c{"peak", "fma", double(groups) * wg * iters * 8 * 4 * 2, 0,
           [&](gpu::Recorder& r) { r.dispatch(p, {{out.sub(0, uint64_t(groups) * wg * 4), gpu::Access::Write}}, push, groups); }};
    rep.peak_gflops = c.flops / time_case(ctx, c, std::max(cfg.repeat, 2)) / 1e6;
  }
  {
    const uint64_t n = cpu ? (64ull << 20) : (512ull << 20);
    Bufs b(ctx, 2 * n + 4096);
    gpu::Slice src = b.raw(n), dst = b.raw(n);
    Case c{"peak", "copy", 0, 2.0 * n, [&](gpu::Recorder& r) { r.copy(src, dst, n); }};
    // Copies carry no timestamps of their own: time the whole submit with a host clock instead.
    gpu::Recorder rec(ctx);
    c.record(rec);
    rec.submit_and_wait();
    double best = 1e30;
    for (int i = 0; i < std::max(cfg.repeat, 2); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      c.record(rec);
      rec.submit_and_wait();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    rep.peak_gbps = c.bytes / best / 1e6;
  }
  {
    // A large GEMM in the benchmark's dtype: on devices with matrix units it exceeds the FMA probe, and the
    // fractions below are then taken against it.
    const int64_t n = cpu ? 1024 : 4096;
    Bufs b(ctx, uint64_t(4 * n * n) * ops::dtype_bytes(cfg.dtype) + (1 << 20));
    Tensor x = b.make(cfg.dtype, {n, n}), w = b.make(cfg.dtype, {n, n}), y = b.make(cfg.dtype, {n, n});
    Case c{"peak", "gemm", 2.0 * double(n) * double(n) * double(n), 0,
           [&](gpu::Recorder& r) { ops::linear(ctx, r, x, w, std::nullopt, y); }};
    rep.peak_gemm_gflops = c.flops / time_case(ctx, c, std::max(cfg.repeat, 2)) / 1e6;
  }
  const double matrix_peak = std::max(rep.peak_gflops, rep.peak_gemm_gflops);
  char head[320];
  std::snprintf(head, sizeof head,
                "device: %s (%s)\nmeasured peaks: %.1f GFLOP/s fp32 FMA, %.1f GFLOP/s large %s GEMM, %.1f GB/s copy\n"
                "compute rows are fractions of %.1f GFLOP/s, memory rows of the copy peak\n",
                rep.device.c_str(), rep.driver.c_str(), rep.peak_gflops, rep.peak_gemm_gflops, rep.dtype.c_str(), rep.peak_gbps,
                matrix_peak);
  std::fputs(head, stdout);

  // --- SD2.1-base shapes (batch 1, 64x64 latent; --quick halves the resolution) ---------------------------
  const int L = cfg.quick ? 32 : 64;  // latent side
  std::vector<CaseMaker> makers;

  // Transformer linears at the outer level (C = 320, tokens = L²) and the mid levels.
  struct Lin { int64_t M, N, K; const char* what; };
  for (Lin l : {Lin{int64_t(L) * L, 320, 320, "to_q 320"}, Lin{int64_t(L) * L, 2560, 320, "ff.proj 320"},
                Lin{int64_t(L) * L, 320, 1280, "ff.out 320"}, Lin{int64_t(L) * L / 4, 640, 640, "to_q 640"},
                Lin{int64_t(L) * L / 16, 10240, 1280, "ff.proj 1280"}, Lin{77, 320, 1024, "to_k text"}})
    makers.push_back([=, &ctx](Bufs& b) {
      Tensor x = b.make(dt, {l.M, l.K}), w = b.make(dt, {l.N, l.K}), bias = b.make(dt, {l.N}), y = b.make(dt, {l.M, l.N});
      return Case{std::string("linear ") + l.what, dims({l.M, l.N, l.K}), 2.0 * l.M * l.N * l.K, 0,
                  [=, &ctx](gpu::Recorder& r) { ops::linear(ctx, r, x, w, bias, y); }};
    });

  struct Conv { int64_t C, Co, S, k, stride; const char* what; };
  for (Conv c : {Conv{320, 320, L, 3, 1, "resnet 320"}, Conv{640, 640, L / 2, 3, 1, "resnet 640"},
                 Conv{1280, 1280, L / 4, 3, 1, "resnet 1280"}, Conv{320, 320, L, 3, 2, "downsample 320"},
                 Conv{640, 320, L, 1, 1, "shortcut 640->320"}})
    makers.push_back([=, &ctx](Bufs& b) {
      const int64_t pad = c.k / 2, OS = ops::conv_out_size(int(c.S), int(c.k), int(c.stride), int(pad), int(pad));
      // Weights in the prepared OHWI layout, as a model loader stores them.
      Tensor x = b.make(dt, {1, c.C, c.S, c.S}), w = b.make(dt, {c.Co, c.k, c.k, c.C}), bias = b.make(dt, {c.Co}),
             y = b.make(dt, {1, c.Co, OS, OS});
      ops::Conv2dArgs a{x, w, bias, y, int(c.stride), int(pad), int(pad), int(pad), int(pad), ops::ConvWeightLayout::OHWI};
      return Case{std::string("conv") + std::to_string(c.k) + "x" + std::to_string(c.k) + " " + c.what,
                  dims({c.C, c.S, c.S}) + "->" + dims({c.Co, OS, OS}), 2.0 * OS * OS * c.Co * c.C * c.k * c.k, 0,
                  [=, &ctx](gpu::Recorder& r) { ops::conv2d(ctx, r, a); }};
    });

  add_extra_op_benchmarks(ctx, dt, L, makers);

  std::vector<std::string> skipped;  // a few op names, for the error when --filter matches nothing
  for (auto& make : makers) {
    const uint64_t cap = cpu ? (2ull << 30) : (4ull << 30);
    Bufs b(ctx, cap);
    Case c = make(b);
    const std::string label = c.op + " " + c.shape;
    if (!cfg.filter.empty() && label.find(cfg.filter) == std::string::npos) {
      if (skipped.size() < 6) skipped.push_back(c.op);
      continue;
    }
    BenchRow row{c.op, c.shape};
    row.ms = time_case(ctx, c, cfg.repeat, cfg.profile);
    if (c.flops > 0) {
      row.gflops = c.flops / row.ms / 1e6;
      row.fraction = row.gflops / matrix_peak;
    } else {
      row.gbytes = c.bytes / row.ms / 1e6;
      row.fraction = row.gbytes / rep.peak_gbps;
    }
    rep.rows.push_back(row);
    on_row(row);
  }
  if (!cfg.filter.empty() && rep.rows.empty()) {
    std::string names;
    for (const auto& n : skipped) names += (names.empty() ? "" : ", ") + n;
    fail("--filter '" + cfg.filter + "' matches no benchmark (labels are 'op shape', e.g. " + names + ")");
  }
  rep.summary = head;
  return rep;
}

std::string format_row(const BenchRow& r) {
  char buf[256];
  if (r.gflops > 0)
    std::snprintf(buf, sizeof buf, "%-32s %-28s %10.3f ms %9.2f GFLOP/s %6.1f%% of matrix peak", r.op.c_str(), r.shape.c_str(), r.ms,
                  r.gflops, 100 * r.fraction);
  else
    std::snprintf(buf, sizeof buf, "%-32s %-28s %10.3f ms %9.2f GB/s    %6.1f%% of copy peak", r.op.c_str(), r.shape.c_str(), r.ms,
                  r.gbytes, 100 * r.fraction);
  return buf;
}

std::string format_report(const BenchReport& r) {
  std::string s = "ezivk bench ops\n" + r.summary + "\n";
  for (const auto& row : r.rows) s += format_row(row) + "\n";
  return s;
}

nlohmann::json report_json(const BenchReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& x : r.rows)
    rows.push_back({{"op", x.op}, {"shape", x.shape}, {"ms", x.ms}, {"gflops", x.gflops}, {"gbytes_per_s", x.gbytes}, {"fraction_of_peak", x.fraction}});
  return {{"device", r.device}, {"driver", r.driver}, {"dtype", r.dtype}, {"peak_gflops_fp32_fma", r.peak_gflops},
          {"peak_gflops_large_gemm", r.peak_gemm_gflops},
          {"peak_copy_gbytes_per_s", r.peak_gbps}, {"rows", rows}};
}

}  // namespace ezivk::cli
