#include "engine/ops/coopmat_check.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/util/error.h"
#include "engine/gpu/recorder.h"
#include "engine/gpu/shaders.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/attention.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/coopmat.h"
#include "engine/ops/gemm.h"
#include "engine/util/half.h"

namespace ezivk::ops {
namespace {

std::string g_fault;
constexpr double kUnreadable = 1e30;
std::atomic<bool> g_warned{false};

// fp16 operands in one small arena: the check's problems are a few hundred KiB.
class Operands {
 public:
  explicit Operands(gpu::Context& ctx) : ctx_(ctx), arena_(ctx, "coopmat self-check", 4 << 20, gpu::MemoryUse::Device) {}

  Tensor random(std::vector<int64_t> shape, uint32_t seed) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<uint16_t> h(n);
    for (auto& x : h) x = float_to_half(u(rng));
    Tensor t{arena_.alloc(n * 2), DType::F16, std::move(shape)};
    ctx_.upload(t.data, h.data(), n * 2);
    return t;
  }
  Tensor empty(std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    return {arena_.alloc(n * 2), DType::F16, std::move(shape)};
  }
  std::vector<float> read(const Tensor& t) {
    std::vector<uint16_t> h(t.numel());
    ctx_.download(t.data, h.data(), h.size() * 2);
    std::vector<float> f(h.size());
    for (size_t i = 0; i < h.size(); ++i) f[i] = half_to_float(h[i]);
    return f;
  }

 private:
  gpu::Context& ctx_;
  gpu::Arena arena_;
};

double disagreement(std::vector<float> got, const std::vector<float>& want, const std::string& kernel) {
  if (g_fault == kernel && !got.empty()) got[got.size() / 2] += 1.f + 10.f * std::fabs(got[got.size() / 2]);
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    err = std::max(err, std::fabs(double(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return err / scale;
}

// Runs op(args) with the cooperative-matrix kernel and with the portable one, each into its own output of
// `shape` (args.*out), and returns how far they disagree.
template <class Args, class Kernel>
double both_kernels(gpu::Context& ctx, Operands& o, Args args, Tensor Args::*out, std::vector<int64_t> shape, Kernel cm,
                    Kernel portable, void (*op)(gpu::Context&, gpu::Recorder&, const Args&), const std::string& name) {
  const Tensor y_cm = o.empty(shape), y_ref = o.empty(shape);
  gpu::Recorder rec(ctx);
  args.*out = y_cm;
  args.kernel = cm;
  op(ctx, rec, args);
  args.*out = y_ref;
  args.kernel = portable;
  op(ctx, rec, args);
  rec.submit_and_wait();
  return disagreement(o.read(y_cm), o.read(y_ref), name);
}

// Each problem has odd sizes: partial tiles in every direction.
double check_gemm(gpu::Context& ctx) {
  Operands o(ctx);
  const int64_t M = 77, N = 45, K = 83;
  GemmArgs g{o.random({M, K}, 1), o.random({N, K}, 2), o.random({N}, 3), {}};
  return both_kernels(ctx, o, g, &GemmArgs::y, {M, N}, MatmulKernel::Coopmat, MatmulKernel::Portable, gemm,
                      coopmat_kernel_name(CoopmatKernel::Gemm));
}

double check_conv2d(gpu::Context& ctx) {
  Operands o(ctx);
  Conv2dArgs c{o.random({1, 13, 9, 11}, 4), o.random({21, 13, 3, 3}, 5), o.random({21}, 6), {}};
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = 1;
  return both_kernels(ctx, o, c, &Conv2dArgs::y, {1, 21, 9, 11}, MatmulKernel::Coopmat, MatmulKernel::Portable, conv2d,
                      coopmat_kernel_name(CoopmatKernel::Conv2d));
}

double check_attention(gpu::Context& ctx) {
  Operands o(ctx);
  const int64_t B = 1, H = 2, D = 64, nq = 70, nk1 = 70, nk2 = 19;
  AttentionArgs a;
  a.q = o.random({B, nq, H * D}, 7);
  a.k1 = o.random({B, nk1, H * D}, 8);
  a.v1 = o.random({B, nk1, H * D}, 9);
  a.k2 = o.random({B, nk2, H * D}, 10);
  a.v2 = o.random({B, nk2, H * D}, 11);
  a.heads = int(H);
  a.w2 = 0.75f;
  return both_kernels(ctx, o, a, &AttentionArgs::out, {B, nq, H * D}, AttentionKernel::Coopmat, AttentionKernel::Shared,
                      attention, coopmat_kernel_name(CoopmatKernel::Attention));
}

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void warn_once(const CoopmatVerdicts& v, const std::string& device) {
  std::string bad;
  for (const auto& k : v.kernels)
    if (!k.ok && k.note.empty()) {
      char e[64];
      std::snprintf(e, sizeof e, "%.3g", k.error);
      bad += (bad.empty() ? "" : ", ") + k.kernel + " (error " + e + ")";
    }
  if (bad.empty() || g_warned.exchange(true)) return;
  std::fprintf(stderr,
               "ezivk: warning: on '%s' the cooperative-matrix kernels %s disagree with the portable ones (limit %g); "
               "using the portable kernels for them%s%s\n",
               device.c_str(), bad.c_str(), kCoopmatCheckLimit, v.path.empty() ? "" : ". Verdict kept in ",
               v.path.c_str());
}

std::string serialize(const CoopmatVerdicts& v, const gpu::DeviceCaps& caps, const gpu::CoopMatShape& shape) {
  std::ostringstream o;
  o << "# ezivk cooperative-matrix self-check: " << caps.name << ", " << caps.driver_info << ", shape "
    << gpu::coopmat_shape_name(shape) << "\n";
  for (const auto& k : v.kernels) {
    char e[64];
    // Non-finite errors (NaN or Inf outputs) are written as a huge number: streams do not read "inf" back.
    std::snprintf(e, sizeof e, "%.6g", std::isfinite(k.error) ? std::min(k.error, kUnreadable) : kUnreadable);
    o << k.kernel << " " << (k.ok ? "ok" : (k.note.empty() ? "failed" : "n/a")) << " " << e;
    if (!k.note.empty()) o << " " << k.note;
    o << "\n";
  }
  return o.str();
}

}  // namespace

void set_coopmat_check_fault(const std::string& kernel) { g_fault = kernel; }

std::string coopmat_verdict_path(const gpu::DeviceCaps& caps, const gpu::CoopMatShape& shape, const std::string& cache_dir) {
  if (cache_dir.empty()) return "";
  // The kernels' own SPIR-V is part of the key: a rebuilt kernel is checked again.
  uint64_t h = 1469598103934665603ull;
  for (const auto& s : gpu::embedded_shaders())
    if (std::string(s.name).find("_coopmat_") != std::string::npos) h = fnv1a(h, s.words, s.word_count * 4);
  h = fnv1a(h, caps.driver_info.data(), caps.driver_info.size());
  char name[160];
  std::snprintf(name, sizeof name, "coopmat-check-%04x-%04x-%08x-%ux%ux%u%s-%016llx.txt", caps.vendor_id, caps.device_id,
                caps.driver_version, shape.m, shape.n, shape.k, shape.result == gpu::ScalarType::F16 ? "-acc16" : "",
                static_cast<unsigned long long>(h));
  return cache_dir + "/" + name;
}

std::optional<CoopmatVerdicts> read_coopmat_verdicts(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream f(path);
  if (!f) return std::nullopt;
  CoopmatVerdicts v;
  v.remembered = true;
  v.path = path;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    CoopmatKernelVerdict k;
    std::string state;
    if (!(in >> k.kernel >> state >> k.error) || (state != "ok" && state != "failed" && state != "n/a")) return std::nullopt;
    k.ok = state == "ok";
    std::getline(in >> std::ws, k.note);
    if (state == "n/a" && k.note.empty()) k.note = "not applicable";
    v.kernels.push_back(std::move(k));
  }
  // A file without every kernel's verdict is checked again rather than half trusted.
  for (CoopmatKernel kernel : kCoopmatKernels)
    if (std::none_of(v.kernels.begin(), v.kernels.end(), [&](const auto& k) { return k.kernel == coopmat_kernel_name(kernel); }))
      return std::nullopt;
  return v;
}

CoopmatVerdicts coopmat_selfcheck(gpu::Context& ctx, bool use_remembered) {
  if (!coopmat_possible(ctx)) fail("the cooperative-matrix self-check needs a device that can run those kernels");
  const std::string path = coopmat_verdict_path(ctx.caps(), ctx.coopmat_shape(), ctx.cache_dir());
  std::optional<CoopmatVerdicts> v = use_remembered ? read_coopmat_verdicts(path) : std::nullopt;
  if (!v) {
    v.emplace();
    v->path = path;
    for (CoopmatKernel kernel : kCoopmatKernels) {
      CoopmatKernelVerdict k;
      k.kernel = coopmat_kernel_name(kernel);
      // A kernel this device cannot run at all (attention's limits) is not a disagreement.
      if (kernel == CoopmatKernel::Attention) k.note = attention_coopmat_unavailable(ctx);
      if (k.note.empty()) {
        try {
          k.error = kernel == CoopmatKernel::Gemm ? check_gemm(ctx) : kernel == CoopmatKernel::Conv2d ? check_conv2d(ctx) : check_attention(ctx);
        } catch (const Error& e) {
          // A kernel that fails to run (a timeout, a lost device) fails its check, loudly.
          std::fprintf(stderr, "ezivk: warning: the cooperative-matrix %s kernel failed its self-check: %s\n", k.kernel.c_str(), e.what());
          k.error = INFINITY;
        }
        k.ok = k.error <= kCoopmatCheckLimit;
      }
      v->kernels.push_back(std::move(k));
    }
    if (!path.empty()) {
      try {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        const std::string text = serialize(*v, ctx.caps(), ctx.coopmat_shape());
        io::write_file_atomically(path, [&](std::ostream& o) { o << text; });
      } catch (const std::exception&) {
        v->path.clear();  // an unwritable cache only costs the check again next run
      }
    }
  }
  for (const auto& k : v->kernels) ctx.set_coopmat_verdict(k.kernel, k.ok);
  warn_once(*v, ctx.caps().name);
  return *v;
}

}  // namespace ezivk::ops
