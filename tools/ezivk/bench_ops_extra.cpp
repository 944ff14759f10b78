// Attention, norm and element-wise cases of `ezivk bench ops` at SD2.1-base shapes.
#include "engine/ops/activation.h"
#include "engine/ops/add.h"
#include "engine/ops/attention.h"
#include "engine/ops/geglu.h"
#include "engine/ops/group_norm.h"
#include "engine/ops/layer_norm.h"
#include "engine/ops/upsample_nearest2x.h"
#include "tools/ezivk/bench_case.h"

namespace ezivk::cli {

using ops::DType;
using ops::Tensor;

void add_extra_op_benchmarks(gpu::Context& ctx, DType dt, int L, std::vector<CaseMaker>& makers) {
  const double es = double(ops::dtype_bytes(dt));
  const int64_t T = int64_t(L) * L;  // tokens at the outer level

  // Self-attention of the outer blocks (5 heads of 64), alone and with as many subject tokens again (the
  // EZIGen adapter); cross-attention to 77 text tokens; the VAE's single 512-wide head.
  struct Att { int64_t nq, nk1, nk2, heads, d; const char* what; };
  for (Att a : {Att{T, T, 0, 5, 64, "self 320"}, Att{T, T, T, 5, 64, "self+subject 320"}, Att{T, 77, 0, 5, 64, "cross 320"},
                Att{T / 4, T / 4, T / 4, 10, 64, "self+subject 640"}, Att{T / 4, T / 4, 0, 1, 512, "vae mid 512"}})
    makers.push_back([=, &ctx](Bufs& b) {
      ops::AttentionArgs args;
      const int64_t C = a.heads * a.d;
      args.q = b.make(dt, {1, a.nq, C});
      args.k1 = b.make(dt, {1, a.nk1, C});
      args.v1 = b.make(dt, {1, a.nk1, C});
      args.out = b.make(dt, {1, a.nq, C});
      if (a.nk2) {
        args.k2 = b.make(dt, {1, a.nk2, C});
        args.v2 = b.make(dt, {1, a.nk2, C});
      }
      args.heads = int(a.heads);
      const double keys = double(a.nk1 + a.nk2);
      return Case{std::string("attention ") + a.what,
                  "q" + std::to_string(a.nq) + " k" + std::to_string(a.nk1) + (a.nk2 ? "+" + std::to_string(a.nk2) : "") + " h" +
                      std::to_string(a.heads) + "x" + std::to_string(a.d),
                  4.0 * double(a.nq) * keys * double(a.d) * double(a.heads), 0,
                  [=, &ctx](gpu::Recorder& r) { ops::attention(ctx, r, args); }};
    });

  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {1, 320, L, L}), y = b.make(dt, {1, 320, L, L});
    Tensor g = b.make(DType::F32, {320}), be = b.make(DType::F32, {320});
    return Case{"group_norm+silu 320", dims({320, L, L}), 0, 2.0 * double(x.numel()) * es,
                [=, &ctx](gpu::Recorder& r) { ops::group_norm(ctx, r, x, g, be, y, 32, 1e-5f, true); }};
  });
  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {T, 320}), y = b.make(dt, {T, 320});
    Tensor g = b.make(DType::F32, {320}), be = b.make(DType::F32, {320});
    return Case{"layer_norm 320", dims({T, 320}), 0, 2.0 * double(x.numel()) * es,
                [=, &ctx](gpu::Recorder& r) { ops::layer_norm(ctx, r, x, g, be, y, 1e-5f); }};
  });
  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {T, 2560}), y = b.make(dt, {T, 1280});
    return Case{"geglu 320", dims({T, 2560}), 0, 1.5 * double(x.numel()) * es, [=, &ctx](gpu::Recorder& r) { ops::geglu(ctx, r, x, y); }};
  });
  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {1, 320, L, L}), e = b.make(dt, {1, 320}), y = b.make(dt, {1, 320, L, L});
    return Case{"add time-embedding 320", dims({320, L, L}), 0, 2.0 * double(x.numel()) * es,
                [=, &ctx](gpu::Recorder& r) { ops::add(ctx, r, x, e, y, ops::AddLayout::per_channel(1, 320, int64_t(L) * L)); }};
  });
  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {1, 640, L / 2, L / 2}), y = b.make(dt, {1, 640, L, L});
    return Case{"upsample_nearest2x 640", dims({640, L / 2, L / 2}), 0, 1.25 * double(y.numel()) * es,
                [=, &ctx](gpu::Recorder& r) { ops::upsample_nearest2x(ctx, r, x, y); }};
  });
  makers.push_back([=, &ctx](Bufs& b) {
    Tensor x = b.make(dt, {1, 320, L, L}), y = b.make(dt, {1, 320, L, L});
    return Case{"silu 320", dims({320, L, L}), 0, 2.0 * double(x.numel()) * es,
                [=, &ctx](gpu::Recorder& r) { ops::activation(ctx, r, ops::Activation::SiLU, x, y); }};
  });
}

}  // namespace ezivk::cli
