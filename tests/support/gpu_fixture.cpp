#include "support/gpu_fixture.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "engine/ops/coopmat.h"
#include "engine/util/half.h"

namespace ezivk::test {

namespace {
constexpr uint8_t kGuardByte = 0xA5;
}

namespace {
std::unique_ptr<gpu::Context> g_shared, g_acc16, g_forced, g_small_range;
bool g_acc16_made = false, g_forced_made = false;

gpu::ContextOptions validated() {
  gpu::ContextOptions o;
  o.validation = true;
  o.sync_validation = true;
  return o;
}
}  // namespace

gpu::Context& shared_context() {
  if (!g_shared) g_shared = std::make_unique<gpu::Context>(validated());
  return *g_shared;
}

gpu::Context* acc16_context() {
  if (g_acc16_made) return g_acc16.get();
  g_acc16_made = true;
  for (const auto& s : shared_context().caps().coopmat_shapes) {
    if (!s.subgroup_scope || s.a != gpu::ScalarType::F16 || s.result != gpu::ScalarType::F16 || 32 % s.m || 32 % s.n || 32 % s.k)
      continue;
    gpu::ContextOptions o = validated();
    o.coopmat_shape = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) + "/f16acc";
    o.force_coopmat = true;
    o.coopmat_selfcheck = false;
    g_acc16 = std::make_unique<gpu::Context>(o);
    if (!ops::coopmat_possible(*g_acc16)) g_acc16.reset();
    break;
  }
  return g_acc16.get();
}

gpu::Context* forced_coopmat_context() {
  if (g_forced_made) return g_forced.get();
  g_forced_made = true;
  if (!ops::coopmat_possible(shared_context())) return nullptr;
  gpu::ContextOptions o = validated();
  o.force_coopmat = true;
  o.coopmat_selfcheck = false;
  g_forced = std::make_unique<gpu::Context>(o);
  return g_forced.get();
}

gpu::Context& small_range_context() {
  if (!g_small_range) {
    gpu::ContextOptions o = validated();
    o.max_storage_range = kSmallStorageRange;
    g_small_range = std::make_unique<gpu::Context>(o);
  }
  return *g_small_range;
}

void release_contexts() {
  g_small_range.reset();
  g_forced.reset();
  g_acc16.reset();
  g_shared.reset();
}

void GpuTest::SetUp() {
  ctx().clear_validation_messages();
  if (g_acc16) g_acc16->clear_validation_messages();
  if (g_forced) g_forced->clear_validation_messages();
  if (g_small_range) g_small_range->clear_validation_messages();
}

void GpuTest::check_validation(gpu::Context& c) {
  for (const auto& m : c.validation_messages()) ADD_FAILURE() << "validation message: " << m;
  c.clear_validation_messages();
}

void GpuTest::TearDown() {
  check_validation(ctx());
  if (g_acc16) check_validation(*g_acc16);
  if (g_forced) check_validation(*g_forced);
  if (g_small_range) check_validation(*g_small_range);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = d(rng);
    if (x == 0.f) x = hi * 0.5f;  // never zeros: a kernel that writes nothing must not pass by luck
  }
  return v;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

double normalized_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    err = std::max(err, std::fabs(double(got[i]) - double(want[i])));
  }
  return err / std::max(max_abs(want), 1e-30);
}

std::vector<float> quantize(std::vector<float> v, DType t) {
  if (t == DType::F16)
    for (auto& x : v) x = round_to_half(x);
  return v;
}

Guarded::Guarded(gpu::Context& ctx, gpu::Arena& arena, size_t count, DType t)
    : ctx_(ctx), count_(count), guard_bytes_(ctx.storage_alignment() * 4), type_(t) {
  const size_t bytes = count * dtype_bytes(t);
  const size_t padded = (bytes + 3) & ~size_t(3);
  outer_ = arena.alloc(padded + 2 * guard_bytes_);
  inner_ = outer_.sub(guard_bytes_, padded);
  std::vector<uint8_t> fill(outer_.size, kGuardByte);
  ctx.upload(outer_, fill.data(), fill.size());
}

void Guarded::upload(const std::vector<float>& values) {
  if (values.size() != count_) throw std::runtime_error("Guarded::upload: wrong element count");
  if (type_ == DType::F32) {
    ctx_.upload(inner_, values.data(), values.size() * 4);
  } else {
    std::vector<uint16_t> h(values.size());
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(values[i]);
    ctx_.upload(inner_, h.data(), h.size() * 2);
  }
}

std::vector<float> Guarded::download() const {
  std::vector<float> out(count_);
  if (type_ == DType::F32) {
    ctx_.download(inner_, out.data(), count_ * 4);
  } else {
    std::vector<uint16_t> h(count_);
    ctx_.download(inner_, h.data(), count_ * 2);
    for (size_t i = 0; i < h.size(); ++i) out[i] = half_to_float(h[i]);
  }
  return out;
}

bool Guarded::guards_intact() const {
  std::vector<uint8_t> all(outer_.size);
  ctx_.download(outer_, all.data(), all.size());
  const size_t used = count_ * dtype_bytes(type_);
  for (size_t i = 0; i < all.size(); ++i) {
    const bool in_data = i >= guard_bytes_ && i < guard_bytes_ + used;
    if (!in_data && all[i] != kGuardByte) return false;
  }
  return true;
}

}  // namespace ezivk::test
