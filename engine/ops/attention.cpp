#include "engine/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/ops/coopmat.h"
#include "engine/ops/dispatch_util.h"

namespace ezivk::ops {

namespace {

constexpr const char* kOp = "attention";

std::string what(const char* name, const char* msg) { return std::string(kOp) + ": " + name + " " + msg; }

// A view's offset, row stride and batch stride in elements; in vec4 units once `to_vec4` has run (the common
// kernels' units).
struct Resolved {
  uint32_t off = 0, rs = 0, bs = 0;
  bool vec4_aligned() const { return off % 4 == 0 && rs % 4 == 0 && bs % 4 == 0; }
  Resolved to_vec4() const { return {off / 4, rs / 4, bs / 4}; }
};

// Checks one token-major operand against [batch (or 1 when `shareable`), tokens, hd] and its view, and
// returns the element strides. tokens < 0: any.
Resolved resolve(const char* name, const Tensor& t, const TokenView& v, int64_t batch, int64_t tokens, int64_t hd,
                 bool shareable, DType dtype) {
  if (t.rank() != 3) fail(what(name, "must be [batch, tokens, heads*D], got ") + shape_string(t.shape));
  for (auto d : t.shape)
    if (d <= 0) fail(what(name, "has an empty dimension ") + shape_string(t.shape));
  const int64_t tb = t.dim(0);
  if (tb != batch && !(shareable && tb == 1))
    fail(what(name, "batch must be ") + std::to_string(batch) + (shareable ? " or 1" : "") + ", got " + shape_string(t.shape));
  if (tokens >= 0 && t.dim(1) != tokens)
    fail(what(name, "must have ") + std::to_string(tokens) + " tokens, got " + shape_string(t.shape));
  if (t.dim(2) != hd) fail(what(name, "must have ") + std::to_string(hd) + " channels (heads*D), got " + shape_string(t.shape));
  expect_dtype(kOp, name, t, dtype);
  if (!t.data) fail(what(name, "has no buffer"));
  if (v.offset < 0) fail(what(name, "view offset must not be negative"));
  const int64_t rs = v.row_stride ? v.row_stride : hd;
  if (rs < hd) fail(what(name, "view row_stride ") + std::to_string(rs) + " is below heads*D = " + std::to_string(hd));
  int64_t bs = v.batch_stride;
  if (bs < -1) fail(what(name, "view batch_stride must be -1 (dense), 0 (shared) or positive"));
  if (tb == 1 && batch > 1 && bs > 0) fail(what(name, "has batch 1, shared by every batch item: its batch_stride must be 0 or -1"));
  if (bs == -1) bs = tb == 1 ? 0 : t.dim(1) * rs;
  const int64_t last = view_extent(t, v) - 1;
  const int64_t avail = int64_t(t.data.size / dtype_bytes(dtype));
  if (last >= avail)
    fail(what(name, "view reaches element ") + std::to_string(last) + " but its buffer holds " + std::to_string(avail));
  if (last > int64_t(UINT32_MAX)) fail(what(name, "is too large for 32-bit element indexing"));
  return {uint32_t(v.offset), uint32_t(rs), uint32_t(bs)};
}

}  // namespace

int64_t view_extent(const Tensor& t, const TokenView& v) {
  const int64_t hd = t.dim(2), rs = v.row_stride ? v.row_stride : hd;
  const int64_t bs = v.batch_stride >= 0 ? v.batch_stride : (t.dim(0) == 1 ? 0 : t.dim(1) * rs);
  return v.offset + (t.dim(0) - 1) * bs + (t.dim(1) - 1) * rs + hd;
}

namespace {

// Which kernel runs and how it is specialised.
struct Kernel {
  std::string shader;
  std::vector<uint32_t> spec;
  uint32_t queries_per_group;
};

// Widest head the subgroup kernel takes: it unrolls over the head, and beyond 64 channels lavapipe's
// compile time explodes (minutes at 512); wider heads (the VAE's) take the shared-memory kernel.
constexpr uint32_t kSubgroupMaxD = 64;

// CPU drivers (lavapipe) get the subgroup-broadcast kernel, which needs one fixed subgroup size; every other
// device the shared-memory kernel.
bool use_subgroup_kernel(const gpu::Context& ctx, uint32_t d, AttentionKernel k) {
  const auto& c = ctx.caps();
  const bool possible = c.min_subgroup_size == c.max_subgroup_size && c.subgroup_size >= 4 && c.subgroup_size <= 64 &&
                        c.subgroup_ballot && d <= kSubgroupMaxD;
  if (k == AttentionKernel::Subgroup && !possible)
    fail(std::string(kOp) + ": the subgroup kernel needs a fixed subgroup size, subgroup ballot (broadcast) and D <= " +
         std::to_string(kSubgroupMaxD));
  if (k != AttentionKernel::Auto) return k == AttentionKernel::Subgroup;
  return possible && c.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
}

// The cooperative-matrix kernel: the device's fragment shape with fp32 accumulators, f16, D = 64. Workgroups of
// max(64, 4·SG) threads (every query row of the 64-query block has an owner thread), whose subgroups each own
// a whole number of fragment rows; 64-key blocks, or 32 where shared memory is 32 KiB (lavapipe).
constexpr uint32_t kCoopmatD = 64, kCoopmatBR = 64;
uint32_t coopmat_shared_bytes(uint32_t bc) {
  return kCoopmatBR * (kCoopmatD + 8) * 2 + kCoopmatBR * (kCoopmatD + 4) * 4 + kCoopmatBR * (bc + 8) * 2 + kCoopmatBR * 4;
}

struct CoopmatPlan {
  uint32_t wg = 0, bc = 0;
  std::string why_not;  // empty when the kernel can run
};

CoopmatPlan coopmat_plan(const gpu::Context& ctx, uint32_t d, DType dt) {
  const auto& c = ctx.caps();
  const auto& s = ctx.coopmat_shape();
  CoopmatPlan p;
  if (!coopmat_possible(ctx)) return {0, 0, "cooperative matrices with an fp16 shape, fp16 support and a fixed subgroup size"};
  if (dt != DType::F16 || d != kCoopmatD) return {0, 0, "f16 tensors and D = " + std::to_string(kCoopmatD)};
  if (s.result != gpu::ScalarType::F32) return {0, 0, "a shape with fp32 accumulators (fp16 scores overflow)"};
  const uint32_t sg = c.subgroup_size;
  p.wg = std::max<uint32_t>(64, 4 * sg);
  const uint32_t rows = kCoopmatBR / (p.wg / sg);
  if (sg > 64 || p.wg > c.max_workgroup_invocations || rows % s.m)
    return {0, 0, "a subgroup size of at most 64 whose share of the 64-query block is a multiple of the fragment's M"};
  const uint32_t budget = c.max_shared_memory ? c.max_shared_memory : 32768;
  for (uint32_t bc : {64u, 32u})
    if (coopmat_shared_bytes(bc) <= budget && bc % s.n == 0 && bc % s.k == 0) {
      p.bc = bc;
      return p;
    }
  return {0, 0, "at least " + std::to_string(coopmat_shared_bytes(32)) + " bytes of shared memory"};
}

// `any`: D or a view is not a multiple of 4, so only the `_any` variants (scalar loads) can run.
Kernel choose(gpu::Context& ctx, uint32_t d, DType dt, AttentionKernel which, bool any) {
  const std::string suffix = std::string("_") + variant(dt) + (any ? "_any" : "");
  CoopmatPlan cm = coopmat_plan(ctx, d, dt);
  if (any && cm.why_not.empty()) cm.why_not = "views whose offsets and strides are multiples of 4 elements";
  if (which == AttentionKernel::Coopmat && !cm.why_not.empty())
    fail(std::string(kOp) + ": the cooperative-matrix kernel needs " + cm.why_not);
  const bool use_cm = which == AttentionKernel::Coopmat ||
                      (which == AttentionKernel::Auto && cm.why_not.empty() && coopmat_allowed(ctx, CoopmatKernel::Attention));
  if (use_cm) {
    const auto spec = coopmat_spec(ctx, cm.wg / ctx.caps().subgroup_size);
    return {"attention/attention_coopmat_f16", {spec[0], spec[1], spec[2], spec[3], spec[4], cm.bc}, kCoopmatBR};
  }
  if (use_subgroup_kernel(ctx, d, which)) {
    const uint32_t sg = ctx.caps().subgroup_size, wg = 4 * sg, r = 2;
    return {"attention/attention_sg" + suffix, {wg, d, sg, 2, r}, wg * r};
  }
  // T threads per query keep at most 64 channels each in registers; BC keys per block fill the shared memory
  // budget (the 32 KiB lavapipe and many GPUs offer) with K and V blocks plus the partial-sum scratch.
  const uint32_t d4 = (d + 3) / 4;  // the kernels pad the head to whole vec4s
  uint32_t t = 1;
  while (d4 / t > 16) t *= 2;
  while (t > 1 && d4 % t != 0) t /= 2;
  const uint32_t wg = t >= 8 ? 128 : 64;
  uint32_t budget = 32768;
  if (ctx.caps().max_shared_memory) budget = std::min(budget, ctx.caps().max_shared_memory);
  const uint32_t per_key = 2 * d4 * 16 + (t > 1 ? wg * 4 : 0);
  const uint32_t bc = std::min<uint32_t>(32, (budget - 16) / per_key);
  if (bc == 0) fail(std::string(kOp) + ": head width " + std::to_string(d) + " does not fit this device's shared memory");
  return {"attention/attention" + suffix, {wg, d, t, bc}, wg / t};
}

void check_disjoint(const char* name, const gpu::Slice& s, std::initializer_list<const gpu::Slice*> inputs) {
  for (const gpu::Slice* i : inputs)
    if (i && s.overlaps(*i)) fail(what(name, "must not overlap any input (other workgroups still read them)"));
}

}  // namespace

std::string attention_coopmat_unavailable(const gpu::Context& ctx) {
  const std::string why = coopmat_plan(ctx, kCoopmatD, DType::F16).why_not;
  return why.empty() ? "" : "needs " + why;
}

uint64_t attention_stats_bytes(int64_t batch, int64_t heads, int64_t nq) { return uint64_t(batch * heads * nq) * 8; }

void attention(gpu::Context& ctx, gpu::Recorder& rec, const AttentionArgs& a) {
  if (a.heads < 1) fail(std::string(kOp) + ": heads must be at least 1, got " + std::to_string(a.heads));
  if (a.q.rank() != 3) fail(what("q", "must be [batch, tokens, heads*D], got ") + shape_string(a.q.shape));
  const int64_t batch = a.q.dim(0), nq = a.q.dim(1), hd = a.q.dim(2);
  if (hd % a.heads != 0)
    fail(what("q", "channels ") + std::to_string(hd) + " are not divisible by heads = " + std::to_string(a.heads));
  const int64_t d = hd / a.heads;
  if (d > 512) fail(std::string(kOp) + ": head width D = " + std::to_string(d) + " is above the supported 512");
  const DType dt = a.q.dtype;
  if (dt == DType::F16 && !ctx.fp16()) fail(std::string(kOp) + ": f16 tensors need 16-bit storage, which this device lacks");
  if (a.k2.has_value() != a.v2.has_value()) fail(std::string(kOp) + ": k2 and v2 must be given together");
  if (!std::isfinite(a.w2)) fail(std::string(kOp) + ": w2 must be finite");
  if (!(a.scale >= 0.f) || !std::isfinite(a.scale)) fail(std::string(kOp) + ": scale must be finite and not negative");

  Resolved q = resolve("q", a.q, a.q_view, batch, nq, hd, false, dt);
  Resolved k1 = resolve("k1", a.k1, a.k1_view, batch, -1, hd, true, dt);
  const int64_t nk1 = a.k1.dim(1);
  Resolved v1 = resolve("v1", a.v1, a.v1_view, batch, nk1, hd, true, dt);
  Resolved o = resolve("out", a.out, a.out_view, batch, nq, hd, false, dt);
  Resolved k2, v2;
  int64_t nk2 = 0;
  if (a.k2) {
    k2 = resolve("k2", *a.k2, a.k2_view, batch, -1, hd, true, dt);
    nk2 = a.k2->dim(1);
    v2 = resolve("v2", *a.v2, a.v2_view, batch, nk2, hd, true, dt);
  }
  if (a.causal && nq != nk1)
    fail(std::string(kOp) + ": causal attention needs as many queries as first-source keys, got " + std::to_string(nq) +
         " and " + std::to_string(nk1));
  const gpu::Slice* k2s = a.k2 ? &a.k2->data : nullptr;
  const gpu::Slice* v2s = a.v2 ? &a.v2->data : nullptr;
  check_disjoint("out", a.out.data, {&a.q.data, &a.k1.data, &a.v1.data, k2s, v2s});
  if (uint64_t(batch) * uint64_t(a.heads) > ctx.caps().max_workgroup_count[1])
    fail(std::string(kOp) + ": batch*heads = " + std::to_string(batch * a.heads) + " exceeds the device's grid limit");

  const auto* cap = a.capture ? &*a.capture : nullptr;
  if (cap) {
    if (!a.k2) fail(std::string(kOp) + ": capture needs a second key/value source (k2/v2)");
    if (cap->count == 0) fail(what("capture", "count must be at least 1"));
    if (!cap->query_ids || cap->query_ids.size < uint64_t(cap->count) * 4)
      fail(what("capture", "query_ids must hold count uint32 values"));
    expect_dtype(kOp, "capture.probs", cap->probs, DType::F32);
    expect_dtype(kOp, "capture.mass", cap->mass, DType::F32);
    expect_shape(kOp, "capture.probs", cap->probs, {batch, int64_t(cap->count), nk2});
    expect_shape(kOp, "capture.mass", cap->mass, {batch, int64_t(cap->count)});
    if (uint64_t(batch * a.heads * nq) * 2 > UINT32_MAX) fail(what("capture", "stats index exceeds 32 bits"));
    if (cap->head < -1 || cap->head >= a.heads)
      fail(what("capture", "head must be -1 (the mean over heads) or 0..") + std::to_string(a.heads - 1) + ", got " +
           std::to_string(cap->head));
    if (!cap->stats || cap->stats.size < attention_stats_bytes(batch, a.heads, nq))
      fail(what("capture", "stats scratch must hold attention_stats_bytes(B, heads, Nq) = ") +
           std::to_string(attention_stats_bytes(batch, a.heads, nq)) + " bytes");
    const std::initializer_list<const gpu::Slice*> ins = {&a.q.data, &a.k1.data, &a.v1.data, k2s, v2s, &a.out.data,
                                                          &cap->query_ids};
    check_disjoint("capture.stats", cap->stats, ins);
    check_disjoint("capture.probs", cap->probs.data, ins);
    check_disjoint("capture.mass", cap->mass.data, ins);
    if (cap->probs.data.overlaps(cap->mass.data) || cap->probs.data.overlaps(cap->stats) || cap->mass.data.overlaps(cap->stats))
      fail(std::string(kOp) + ": capture.probs, capture.mass and capture.stats must not overlap");
  }

  const float scale = a.scale > 0.f ? a.scale : float(1.0 / std::sqrt(double(d)));
  const float qscale = float(double(scale) * 1.4426950408889634);  // log2(e): the kernels use exp2

  // The common kernels move 4 channels per load; other widths and views take the `_any` variants.
  const bool any = d % 4 != 0 || !(q.vec4_aligned() && k1.vec4_aligned() && v1.vec4_aligned() && o.vec4_aligned() &&
                                   k2.vec4_aligned() && v2.vec4_aligned());
  if (!any)
    for (Resolved* r : {&q, &k1, &v1, &o, &k2, &v2}) *r = r->to_vec4();
  const Kernel kern = choose(ctx, uint32_t(d), dt, a.kernel, any);
  const auto& pipe = ctx.pipeline(kern.shader, kern.spec);
  struct {
    uint32_t nq, nk1, nk2, heads;
    Resolved q, k1, v1, k2, v2, o;
    float qscale, w2;
    uint32_t causal, stats;
  } push{uint32_t(nq), uint32_t(nk1), uint32_t(nk2), uint32_t(a.heads), q, k1, v1, k2, v2, o, qscale, a.w2,
         a.causal ? 1u : 0u, cap ? 1u : 0u};
  static_assert(sizeof(push) == 26 * 4);
  const gpu::Slice& k2b = a.k2 ? a.k2->data : a.k1.data;  // unused binding when there is no second source
  const gpu::Slice& v2b = a.v2 ? a.v2->data : a.v1.data;
  const gpu::Slice& statsb = cap ? cap->stats : a.out.data;  // unused binding without capture
  rec.dispatch(pipe,
               {{a.q.data, gpu::Access::Read},
                {a.k1.data, gpu::Access::Read},
                {a.v1.data, gpu::Access::Read},
                {k2b, gpu::Access::Read},
                {v2b, gpu::Access::Read},
                {a.out.data, gpu::Access::Write},
                {statsb, gpu::Access::Write}},
               push, ceil_div(uint64_t(nq), kern.queries_per_group), uint32_t(batch * a.heads), 1, "attention");
  if (!cap) return;

  constexpr uint32_t kCapWg = 64;  // a power of two: the mass reduction halves it
  const uint32_t cspec[] = {kCapWg, uint32_t(d)};
  const auto& cpipe = ctx.pipeline(std::string("attention/attention_capture_") + variant(dt) + (any ? "_any" : ""), cspec);
  const uint32_t h0 = cap->head < 0 ? 0u : uint32_t(cap->head), h1 = cap->head < 0 ? uint32_t(a.heads) : h0 + 1;
  struct {
    uint32_t nq, nk2, heads, nsel, h0, h1;
    Resolved q, k2;
    float qscale, w2;
  } cpush{uint32_t(nq), uint32_t(nk2), uint32_t(a.heads), cap->count, h0, h1, q, k2, qscale, a.w2};
  rec.dispatch(cpipe,
               {{a.q.data, gpu::Access::Read},
                {a.k2->data, gpu::Access::Read},
                {cap->query_ids, gpu::Access::Read},
                {cap->stats, gpu::Access::Read},
                {cap->probs.data, gpu::Access::ReadWrite},
                {cap->mass.data, gpu::Access::Write}},
               cpush, cap->count, uint32_t(batch), 1, "attention capture");
}

}  // namespace ezivk::ops
