#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "engine/util/error.h"
#include "engine/ops/attention.h"
#include "engine/ops/coopmat.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using ops::AttentionKernel;

struct Case {
  std::string name;
  int64_t batch = 1, nq = 7, nk1 = 7, nk2 = 0, heads = 1, d = 64;
  bool kv1_shared = false, kv2_shared = false;  // batch 1, read by every batch item
  bool k2_stride0 = false;                      // shared subject as [B, …] with an explicit batch stride of 0
  float w2 = 1.f, scale = 0.f;
  bool causal = false, fused = false;           // fused: q/k1/v1 are views into one [B, N, 3·H·D] buffer
  float lo = -1.f, hi = 1.f;                    // range of q and k values
  std::vector<uint32_t> capture;                // selected query ids
  int32_t capture_head = -1;                    // -1: the mean over heads
  std::vector<DType> dtypes = {DType::F32, DType::F16};
  AttentionKernel kernel = AttentionKernel::Auto;
  double f32_tol = 1e-5;
};

struct Param {
  Case c;
  DType dt;
};

std::ostream& operator<<(std::ostream& os, const Param& p) { return os << p.c.name << "_" << dtype_name(p.dt); }

struct Inputs {
  ops::AttentionShape s;
  std::vector<float> q, k1, v1, k2, v2;
};

Inputs make_inputs(const Case& c, DType dt) {
  Inputs in;
  auto& s = in.s;
  s.batch = c.batch, s.nq = c.nq, s.nk1 = c.nk1, s.nk2 = c.nk2, s.heads = c.heads, s.head_dim = c.d;
  s.kv1_batch = c.kv1_shared ? 1 : c.batch;
  s.kv2_batch = c.kv2_shared || c.k2_stride0 ? 1 : c.batch;
  s.w2 = c.w2, s.scale = c.scale, s.causal = c.causal;
  const size_t hd = size_t(c.heads * c.d);
  const uint32_t seed = uint32_t(c.nq * 131 + c.nk1 * 17 + c.nk2 * 7 + c.heads * 3 + c.d);
  // The reference sees exactly what the GPU reads: inputs rounded through the storage type.
  in.q = quantize(random_floats(size_t(c.batch * c.nq) * hd, seed, c.lo, c.hi), dt);
  in.k1 = quantize(random_floats(size_t(s.kv1_batch * c.nk1) * hd, seed + 1, c.lo, c.hi), dt);
  in.v1 = quantize(random_floats(size_t(s.kv1_batch * c.nk1) * hd, seed + 2), dt);
  in.k2 = quantize(random_floats(size_t(s.kv2_batch * c.nk2) * hd, seed + 3, c.lo, c.hi), dt);
  in.v2 = quantize(random_floats(size_t(s.kv2_batch * c.nk2) * hd, seed + 4), dt);
  return in;
}

// Interleaves dense [B, N, HD] q, k, v into one [B, N, 3·HD] buffer.
std::vector<float> fuse(const Inputs& in) {
  const size_t hd = size_t(in.s.heads * in.s.head_dim), rows = size_t(in.s.batch * in.s.nq);
  std::vector<float> f(rows * 3 * hd);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < hd; ++c) {
      f[r * 3 * hd + c] = in.q[r * hd + c];
      f[r * 3 * hd + hd + c] = in.k1[r * hd + c];
      f[r * 3 * hd + 2 * hd + c] = in.v1[r * hd + c];
    }
  return f;
}

class AttentionTest : public GpuTest, public ::testing::WithParamInterface<Param> {};

TEST_P(AttentionTest, MatchesReference) {
  const Case& c = GetParam().c;
  const DType dt = GetParam().dt;
  if (c.kernel == AttentionKernel::Coopmat && !ops::coopmat_possible(ctx()))
    GTEST_SKIP() << "no usable cooperative matrices on this device";
  const Inputs in = make_inputs(c, dt);
  const auto& s = in.s;
  const int64_t hd = c.heads * c.d;
  gpu::Arena arena(ctx(), "attention test", 16 << 20, gpu::MemoryUse::Device);
  ops::AttentionArgs a;
  a.heads = int(c.heads), a.w2 = c.w2, a.scale = c.scale, a.causal = c.causal, a.kernel = c.kernel;

  std::optional<Guarded> fused, q, k1, v1, k2, v2;
  if (c.fused) {
    fused.emplace(ctx(), arena, size_t(c.batch * c.nq * 3 * hd), dt);
    fused->upload(fuse(in));
    a.q = fused->tensor({c.batch, c.nq, hd});
    a.k1 = fused->tensor({c.batch, c.nk1, hd});
    a.v1 = fused->tensor({c.batch, c.nk1, hd});
    a.q_view = {0, 3 * hd, -1};
    a.k1_view = {hd, 3 * hd, -1};
    a.v1_view = {2 * hd, 3 * hd, -1};
  } else {
    q.emplace(ctx(), arena, in.q.size(), dt);
    k1.emplace(ctx(), arena, in.k1.size(), dt);
    v1.emplace(ctx(), arena, in.v1.size(), dt);
    q->upload(in.q), k1->upload(in.k1), v1->upload(in.v1);
    a.q = q->tensor({c.batch, c.nq, hd});
    a.k1 = k1->tensor({s.kv1_batch, c.nk1, hd});
    a.v1 = v1->tensor({s.kv1_batch, c.nk1, hd});
  }
  if (c.nk2) {
    k2.emplace(ctx(), arena, in.k2.size(), dt);
    v2.emplace(ctx(), arena, in.v2.size(), dt);
    k2->upload(in.k2), v2->upload(in.v2);
    const int64_t b2 = c.k2_stride0 ? c.batch : s.kv2_batch;
    a.k2 = k2->tensor({b2, c.nk2, hd});
    a.v2 = v2->tensor({b2, c.nk2, hd});
    if (c.k2_stride0) a.k2_view.batch_stride = a.v2_view.batch_stride = 0;
  }
  Guarded out(ctx(), arena, size_t(c.batch * c.nq * hd), dt);
  a.out = out.tensor({c.batch, c.nq, hd});

  const auto nsel = uint32_t(c.capture.size());
  std::optional<Guarded> ids, probs, mass, stats;
  if (nsel) {
    ids.emplace(ctx(), arena, nsel, DType::F32);  // uint32 bits in a 4-byte buffer
    ctx().upload(ids->slice(), c.capture.data(), nsel * 4);
    probs.emplace(ctx(), arena, size_t(c.batch) * nsel * size_t(c.nk2), DType::F32);
    mass.emplace(ctx(), arena, size_t(c.batch) * nsel, DType::F32);
    stats.emplace(ctx(), arena, ops::attention_stats_bytes(c.batch, c.heads, c.nq) / 4, DType::F32);
    a.capture = ops::AttentionCapture{ids->slice(), nsel, probs->tensor({c.batch, int64_t(nsel), c.nk2}),
                                      mass->tensor({c.batch, int64_t(nsel)}), stats->slice(), c.capture_head};
  }

  gpu::Recorder rec(ctx());
  ops::attention(ctx(), rec, a);
  rec.submit_and_wait();

  const auto want = quantize(ops::attention_ref(s, in.q, in.k1, in.v1, in.k2, in.v2), dt);
  EXPECT_LE(normalized_error(out.download(), want), dt == DType::F16 ? 2e-3 : c.f32_tol);
  EXPECT_TRUE(out.guards_intact());
  for (auto* g : {&fused, &q, &k1, &v1, &k2, &v2}) {
    if (*g) {
      EXPECT_TRUE((*g)->guards_intact());
    }
  }
  if (nsel) {
    // fp32 outputs computed from the same (rounded) inputs: the storage type does not loosen them.
    const auto ref = ops::attention_capture_ref(s, in.q, in.k1, in.k2, c.capture, c.capture_head);
    EXPECT_LE(normalized_error(probs->download(), ref.probs), 1e-5);
    const auto got_mass = mass->download();
    ASSERT_EQ(got_mass.size(), ref.mass.size());
    for (size_t i = 0; i < got_mass.size(); ++i) EXPECT_NEAR(got_mass[i], ref.mass[i], 1e-5) << "mass " << i;
    EXPECT_TRUE(probs->guards_intact());
    EXPECT_TRUE(mass->guards_intact());
    EXPECT_TRUE(stats->guards_intact());
  }
}

// Each (kernel, head width, dtype) is a pipeline, and building one costs lavapipe seconds: the matrix below
// covers every kernel and feature without multiplying pipelines.
std::vector<Param> params() {
  std::vector<Case> v;
  auto add = [&](Case c) { v.push_back(std::move(c)); };
  const std::vector<DType> f32 = {DType::F32}, f16 = {DType::F16};
  add({.name = "single_query_single_key", .nq = 1, .nk1 = 1});
  add({.name = "odd_7x300_subject5", .nq = 7, .nk1 = 300, .nk2 = 5, .heads = 2});
  add({.name = "odd_333x77_subject129", .nq = 333, .nk1 = 77, .nk2 = 129, .heads = 3});
  add({.name = "odd_77x1_subject129_w2", .nq = 77, .nk1 = 1, .nk2 = 129, .heads = 4, .w2 = 0.37f});
  add({.name = "aligned_256", .nq = 256, .nk1 = 256, .heads = 1});
  add({.name = "five_heads_scale", .nq = 77, .nk1 = 77, .heads = 5, .scale = 0.3f});
  add({.name = "batch2_shared_subject", .batch = 2, .nq = 64, .nk1 = 64, .nk2 = 129, .heads = 2, .kv2_shared = true, .w2 = 1.6f});
  add({.name = "batch2_subject_stride0", .batch = 2, .nq = 33, .nk1 = 40, .nk2 = 5, .heads = 1, .k2_stride0 = true});
  add({.name = "batch2_own_subjects", .batch = 2, .nq = 50, .nk1 = 45, .nk2 = 70, .heads = 2, .w2 = 0.8f});
  add({.name = "batch2_shared_first_source", .batch = 2, .nq = 20, .nk1 = 33, .heads = 2, .kv1_shared = true});
  add({.name = "causal_77", .nq = 77, .nk1 = 77, .heads = 3, .causal = true});
  add({.name = "causal_batch2_with_subject", .batch = 2, .nq = 100, .nk1 = 100, .nk2 = 5, .heads = 2, .causal = true});
  add({.name = "fused_qkv", .batch = 2, .nq = 77, .nk1 = 77, .nk2 = 9, .heads = 2, .fused = true});
  // Scores up to ~±150: exp overflows fp32 without the max subtraction and fp16 long before.
  add({.name = "large_scores", .nq = 77, .nk1 = 100, .nk2 = 29, .heads = 2, .lo = -12.f, .hi = 12.f});
  // Scores in the thousands: fp32's own rounding of a score (~1e-7·|s|) alone moves the result by ~1e-5.
  add({.name = "huge_scores", .nq = 77, .nk1 = 100, .nk2 = 29, .heads = 2, .lo = -30.f, .hi = 30.f, .f32_tol = 1e-4});
  add({.name = "capture", .batch = 2, .nq = 77, .nk1 = 50, .nk2 = 129, .heads = 3, .w2 = 1.3f, .capture = {0, 5, 76, 40, 1000}});
  // One head's map (the viewer's head control): the last head, and a middle one with the `_any` variant below.
  add({.name = "capture_last_head", .batch = 2, .nq = 77, .nk1 = 50, .nk2 = 129, .heads = 3, .w2 = 1.3f,
       .capture = {0, 5, 76, 40, 1000}, .capture_head = 2});
  add({.name = "head40", .nq = 77, .nk1 = 100, .nk2 = 5, .heads = 2, .d = 40, .dtypes = f32});
  add({.name = "head40_causal", .nq = 77, .nk1 = 77, .heads = 3, .d = 40, .causal = true, .dtypes = f32});
  add({.name = "capture_shared_head40", .batch = 2, .nq = 33, .nk1 = 33, .nk2 = 70, .heads = 5, .d = 40, .kv2_shared = true,
       .capture = {32, 0}, .dtypes = f32});
  // Head widths the vec4 kernels cannot take (any D up to 512): the `_any` variants, with views, causal, both
  // sources and capture; D = 12 is the vec4 path at a width that is not a multiple of 8.
  add({.name = "head12", .nq = 77, .nk1 = 77, .nk2 = 9, .heads = 4, .d = 12});
  add({.name = "head1", .nq = 33, .nk1 = 20, .heads = 3, .d = 1, .dtypes = f32});
  add({.name = "head6_fused_causal", .batch = 2, .nq = 45, .nk1 = 45, .nk2 = 7, .heads = 3, .d = 6, .causal = true,
       .fused = true});
  add({.name = "head10_capture", .batch = 2, .nq = 40, .nk1 = 30, .nk2 = 33, .heads = 2, .d = 10, .w2 = 1.3f,
       .capture = {39, 0, 7}});
  add({.name = "head10_capture_head1", .batch = 2, .nq = 40, .nk1 = 30, .nk2 = 33, .heads = 3, .d = 10, .w2 = 1.3f,
       .capture = {39, 0, 7}, .capture_head = 1, .dtypes = f32});
  // Two threads per query (D > 64); one dtype, as lavapipe takes about a minute to build this pipeline.
  add({.name = "head77_shared_subject", .batch = 2, .nq = 50, .nk1 = 50, .nk2 = 20, .heads = 2, .d = 77, .kv2_shared = true,
       .dtypes = f32});
  add({.name = "head6_shared_kernel", .nq = 70, .nk1 = 70, .nk2 = 5, .heads = 2, .d = 6, .dtypes = f16, .kernel = AttentionKernel::Shared});
  // The VAE's single 512-wide head (the shared-memory kernel everywhere, several threads per query).
  add({.name = "head512", .nq = 71, .nk1 = 70, .heads = 1, .d = 512});
  add({.name = "head512_subject_causal", .batch = 2, .nq = 20, .nk1 = 20, .nk2 = 13, .heads = 1, .d = 512, .w2 = 1.2f,
       .causal = true, .dtypes = f32});
  // The GPU kernel at D = 64 on this device too (on lavapipe Auto picks the subgroup kernel).
  const auto shared = AttentionKernel::Shared;
  add({.name = "shared_kernel_odd", .nq = 333, .nk1 = 77, .nk2 = 129, .heads = 3, .w2 = 0.7f, .dtypes = f16, .kernel = shared});
  add({.name = "shared_kernel_causal", .batch = 2, .nq = 77, .nk1 = 77, .nk2 = 5, .heads = 2, .causal = true, .dtypes = f16,
       .kernel = shared});
  add({.name = "shared_kernel_capture", .nq = 40, .nk1 = 1, .nk2 = 33, .heads = 2, .capture = {39, 3}, .dtypes = f16,
       .kernel = shared});
  // The cooperative-matrix kernel (fp16, D = 64) in the device's fragment shape (8×8×8 on lavapipe 26), skipped
  // where the device has no cooperative matrices: edge blocks of queries and keys, several key blocks of both
  // sources, causal, views, shared sources, capture.
  const auto cm = AttentionKernel::Coopmat;
  add({.name = "coopmat_single", .nq = 1, .nk1 = 1, .dtypes = f16, .kernel = cm});
  add({.name = "coopmat_odd", .nq = 333, .nk1 = 77, .nk2 = 129, .heads = 3, .w2 = 0.7f, .dtypes = f16, .kernel = cm});
  add({.name = "coopmat_aligned_256", .nq = 256, .nk1 = 256, .heads = 2, .dtypes = f16, .kernel = cm});
  add({.name = "coopmat_causal", .batch = 2, .nq = 150, .nk1 = 150, .nk2 = 5, .heads = 2, .causal = true, .dtypes = f16,
       .kernel = cm});
  add({.name = "coopmat_fused_shared_subject", .batch = 2, .nq = 77, .nk1 = 77, .nk2 = 70, .heads = 2, .kv2_shared = true,
       .w2 = 1.6f, .fused = true, .dtypes = f16, .kernel = cm});
  add({.name = "coopmat_large_scores", .nq = 77, .nk1 = 100, .nk2 = 29, .heads = 2, .lo = -12.f, .hi = 12.f,
       .dtypes = f16, .kernel = cm});
  add({.name = "coopmat_capture", .batch = 2, .nq = 77, .nk1 = 50, .nk2 = 129, .heads = 3, .w2 = 1.3f,
       .capture = {0, 5, 76, 40, 1000}, .capture_head = 1, .dtypes = f16, .kernel = cm});
  std::vector<Param> out;
  for (const auto& c : v)
    for (DType dt : c.dtypes) out.push_back({c, dt});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest, ::testing::ValuesIn(params()),
                         [](const auto& info) { return info.param.c.name + "_" + dtype_name(info.param.dt); });

// Shape and argument errors name the argument at fault and never reach the GPU.
class AttentionErrors : public GpuTest {
 protected:
  gpu::Arena arena{ctx(), "attention errors", 1 << 20, gpu::MemoryUse::Device};
  gpu::Slice buf(size_t floats) { return arena.alloc(floats * 4); }
  ops::AttentionArgs valid() {
    ops::AttentionArgs a;
    a.heads = 2;
    a.q = {buf(2 * 7 * 128), DType::F32, {2, 7, 128}};
    a.k1 = {buf(2 * 9 * 128), DType::F32, {2, 9, 128}};
    a.v1 = {buf(2 * 9 * 128), DType::F32, {2, 9, 128}};
    a.out = {buf(2 * 7 * 128), DType::F32, {2, 7, 128}};
    return a;
  }
  void expect_error(const ops::AttentionArgs& a, const std::string& needle) {
    gpu::Recorder rec(ctx());
    try {
      ops::attention(ctx(), rec, a);
      ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(rec.dispatch_count(), 0u);
  }
};

TEST_F(AttentionErrors, NameTheArgument) {
  auto a = valid();
  a.heads = 3;
  expect_error(a, "heads");
  a = valid();
  a.heads = 1;
  a.q.shape = {2, 7, 1024};  // D = 1024, checked before any buffer
  expect_error(a, "above the supported 512");
  a = valid();
  a.k1.shape = {2, 9, 64};
  expect_error(a, "k1");
  a = valid();
  a.v1.shape = {2, 8, 128};
  expect_error(a, "v1");
  a = valid();
  a.out.shape = {2, 6, 128};
  expect_error(a, "out");
  a = valid();
  a.out.dtype = DType::F16;
  expect_error(a, "out");
  a = valid();
  a.out = a.q;
  expect_error(a, "overlap");
  a = valid();
  a.causal = true;
  expect_error(a, "causal");
  a = valid();
  a.k2 = a.k1;
  expect_error(a, "k2 and v2");
  a = valid();
  a.q_view.row_stride = 256;  // twice the rows the buffer holds
  expect_error(a, "q view");
  a = valid();
  a.k1_view.offset = -2;
  expect_error(a, "k1 view offset");
  a = valid();
  ops::AttentionCapture cap;
  cap.query_ids = buf(1);
  cap.count = 1;
  cap.probs = {buf(2 * 9), DType::F32, {2, 1, 9}};
  cap.mass = {buf(2), DType::F32, {2, 1}};
  cap.stats = buf(2 * 2 * 7 * 2);
  a.capture = cap;
  expect_error(a, "second key/value source");
  a.k2 = {buf(2 * 9 * 128), DType::F32, {2, 9, 128}};
  a.v2 = {buf(2 * 9 * 128), DType::F32, {2, 9, 128}};
  cap.head = 2;  // two heads: 0 and 1
  a.capture = cap;
  expect_error(a, "head must be -1 (the mean over heads) or 0..1, got 2");
}

}  // namespace
}  // namespace ezivk::test
