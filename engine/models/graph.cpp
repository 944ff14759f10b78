#include "engine/models/graph.h"

#include <algorithm>

#include "engine/util/error.h"
#include "engine/io/npy.h"
#include "engine/ops/concat_channels.h"
#include "engine/ops/embedding.h"
#include "engine/ops/geglu.h"
#include "engine/ops/gemm.h"
#include "engine/ops/group_norm.h"
#include "engine/ops/layer_norm.h"
#include "engine/ops/timestep_embedding.h"
#include "engine/ops/transpose.h"
#include "engine/ops/upsample_nearest.h"
#include "engine/ops/upsample_nearest2x.h"
#include "engine/util/half.h"

namespace ezivk::models {

void OffsetPool::check() const {
  if (broken_at_ != UINT64_MAX)
    fail("activation pool: the range at offset " + std::to_string(broken_at_) + " was released twice");
}

uint64_t OffsetPool::alloc(uint64_t bytes) {
  check();
  if (bytes > kMaxBytes || end_ > kMaxBytes)
    fail("activation memory: a tensor of " + std::to_string(bytes) + " bytes on top of " + std::to_string(end_) +
         " is beyond any device (the model or image size is too large)");
  const uint64_t size = std::max<uint64_t>(align_, (bytes + align_ - 1) / align_ * align_);
  uint64_t off = end_;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    off = it->first;
    const uint64_t left = it->second - size;
    free_.erase(it);
    if (left) free_[off + size] = left;
    break;
  }
  if (off == end_) end_ += size;
  in_use_ += size;
  peak_ = std::max(peak_, end_);
  return off;
}

void OffsetPool::release(uint64_t offset, uint64_t bytes) noexcept {
  const uint64_t size = std::max<uint64_t>(align_, (bytes + align_ - 1) / align_ * align_);
  if (broken_at_ != UINT64_MAX) return;
  // std::map::emplace may throw bad_alloc: a pool that cannot record a free range is broken, not fatal.
  std::pair<std::map<uint64_t, uint64_t>::iterator, bool> r;
  try {
    r = free_.emplace(offset, size);
  } catch (...) {
    broken_at_ = offset;
    return;
  }
  auto [it, inserted] = r;
  if (!inserted) {
    broken_at_ = offset;
    return;
  }
  in_use_ -= size;
  auto next = std::next(it);
  if (next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
      it = prev;
    }
  }
  // The top block returns to the unallocated end, so a later big tensor is not forced past it.
  if (it->first + it->second == end_) {
    end_ = it->first;
    free_.erase(it);
  }
}

Act& Act::operator=(Act&& o) noexcept {
  if (this != &o) {
    reset();
    g_ = o.g_;
    t_ = std::move(o.t_);
    off_ = o.off_;
    bytes_ = o.bytes_;
    o.g_ = nullptr;
  }
  return *this;
}

void Act::reset() noexcept {
  if (g_) g_->release(off_, bytes_);
  g_ = nullptr;
}

Tensor Act::view(std::vector<int64_t> shape) const {
  Tensor v{t_.data, t_.dtype, std::move(shape)};
  if (v.numel() != t_.numel())
    fail("activation view " + ops::shape_string(v.shape) + " does not have the " + std::to_string(t_.numel()) +
         " elements of " + ops::shape_string(t_.shape));
  return v;
}

Graph::Graph(gpu::Context& ctx, DType dtype) : ctx_(&ctx), dtype_(dtype), pool_(std::max<uint64_t>(256, ctx.storage_alignment())) {}

Graph Graph::planning(gpu::Context& ctx, DType dtype) { return Graph(ctx, dtype); }

Graph::Graph(gpu::Context& ctx, gpu::Recorder& rec, gpu::Slice memory, DType dtype, const DumpOptions* dump)
    : ctx_(&ctx), rec_(&rec), memory_(memory), dtype_(dtype), pool_(std::max<uint64_t>(256, ctx.storage_alignment())),
      dump_(dump) {}

Act Graph::alloc(std::vector<int64_t> shape, DType dtype) {
  // Element counts are checked before Tensor::bytes() multiplies them: a shape from a huge config must not wrap.
  uint64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n) || n > OffsetPool::kMaxBytes)
      fail("activation " + ops::shape_string(shape) + " is beyond any device (the model or image size is too large)");
  Act a;
  a.g_ = this;
  a.t_ = Tensor{{}, dtype, std::move(shape)};
  a.bytes_ = std::max<uint64_t>(a.t_.bytes(), 4);
  a.off_ = pool_.alloc(a.bytes_);
  if (!planning()) {
    if (a.off_ + a.bytes_ > memory_.size)
      fail("activation memory: " + gpu::format_bytes(memory_.size) + " planned, but this forward needs more (" +
           gpu::format_bytes(a.off_ + a.bytes_) + "); the plan and the run took different paths");
    a.t_.data = memory_.sub(a.off_, a.t_.bytes());
  }
  return a;
}

void Graph::dump(const std::string& name, const Tensor& t) {
  if (!dumping()) return;
  if (!dump_->prefixes.empty() &&
      std::none_of(dump_->prefixes.begin(), dump_->prefixes.end(),
                   [&](const std::string& p) { return name.compare(0, p.size(), p) == 0; }))
    return;
  rec_->submit_and_wait();
  const auto v = download_floats(*ctx_, t);
  io::write_npy_f32(dump_->dir / (name + ".npy"), t.shape, v.data());
}

std::string WholeBinding::describe() const {
  return "'" + op + "' binds " + ops::shape_string(shape) + " " + ops::dtype_name(dtype) + " (" + gpu::format_bytes(bytes) +
         ") whole";
}

void Graph::bound_whole(const char* op, const Tensor& t, uint64_t bytes) {
  if (bytes > widest_.bytes) widest_ = {bytes, op, t.shape, t.dtype};
}

void Graph::bound_whole(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t) bound_whole(op, *t, t->bytes());
}

// gemm splits its activations into runs of rows; the weight and bias are bound whole.
void Graph::linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, const Tensor& y) {
  if (planning()) return bound_whole("linear", {&w, bias ? &*bias : nullptr});
  ops::linear(*ctx_, *rec_, x, w, bias, y);
}

void Graph::linear_strided(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, const Tensor& y,
                           uint32_t ldy) {
  if (planning()) return bound_whole("linear", {&w, bias ? &*bias : nullptr});
  const int64_t K = x.dim(-1), M = x.numel() / K, N = w.dim(0);
  ops::gemm(*ctx_, *rec_, {{x.data, x.dtype, {M, K}}, w, bias, {y.data, y.dtype, {M, N}}, 0, ldy});
}

void Graph::conv2d(const ops::Conv2dArgs& a) {
  if (planning()) return bound_whole("conv2d", {&a.x, &a.w, a.bias ? &*a.bias : nullptr, &a.y});
  ops::conv2d(*ctx_, *rec_, a);
}

void Graph::group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y, uint32_t groups,
                       float eps, bool silu) {
  if (planning()) return bound_whole("group_norm", {&x, &y});
  ops::group_norm(*ctx_, *rec_, x, gamma, beta, y, groups, eps, silu);
}

void Graph::layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y, float eps) {
  if (planning()) return bound_whole("layer_norm", {&x, &y});
  ops::layer_norm(*ctx_, *rec_, x, gamma, beta, y, eps);
}

void Graph::activation(ops::Activation kind, const Tensor& x, const Tensor& y) {
  if (planning()) return bound_whole("activation", {&x, &y});
  ops::activation(*ctx_, *rec_, kind, x, y);
}

void Graph::geglu(const Tensor& x, const Tensor& y) {
  if (!planning()) ops::geglu(*ctx_, *rec_, x, y);
}

void Graph::add(const Tensor& a, const Tensor& b, const Tensor& out, const ops::AddLayout& layout, float alpha) {
  if (planning()) return bound_whole("add", {&a, &b, &out});
  ops::add(*ctx_, *rec_, a, b, out, layout, alpha);
}

void Graph::add(const Tensor& a, const Tensor& b, const Tensor& out, float alpha) {
  if (planning()) return bound_whole("add", {&a, &b, &out});
  ops::add(*ctx_, *rec_, a, b, out, alpha);
}

void Graph::copy(const Tensor& src, const Tensor& dst) {
  if (src.dtype != dst.dtype || src.numel() != dst.numel())
    fail("graph copy: " + ops::shape_string(src.shape) + " " + ops::dtype_name(src.dtype) + " into " +
         ops::shape_string(dst.shape) + " " + ops::dtype_name(dst.dtype));
  if (!planning()) rec_->copy(src.data, dst.data, src.bytes());
}

void Graph::transpose(const Tensor& x, const Tensor& y) {
  if (planning()) return bound_whole("transpose", {&x, &y});
  ops::transpose(*ctx_, *rec_, x, y);
}

void Graph::upsample_nearest2x(const Tensor& x, const Tensor& y) {
  if (planning()) return bound_whole("upsample_nearest2x", {&x, &y});
  ops::upsample_nearest2x(*ctx_, *rec_, x, y);
}

void Graph::upsample_nearest(const Tensor& x, const Tensor& y) {
  if (planning()) return bound_whole("upsample_nearest", {&x, &y});
  ops::upsample_nearest(*ctx_, *rec_, x, y);
}

void Graph::concat_channels(const Tensor& a, const Tensor& b, const Tensor& y) {
  if (planning()) return bound_whole("concat_channels", {&a, &b, &y});
  ops::concat_channels(*ctx_, *rec_, a, b, y);
}

void Graph::timestep_embedding(const Tensor& t, const Tensor& y, bool flip_sin_to_cos, float shift) {
  if (planning()) return bound_whole("timestep_embedding", {&t, &y});
  ops::timestep_embedding(*ctx_, *rec_, t, y, flip_sin_to_cos, shift);
}

void Graph::embedding(const gpu::Slice& ids, uint32_t count, const Tensor& table, const Tensor& y) {
  if (!planning()) ops::embedding(*ctx_, *rec_, ids, count, table, y);
}

void Graph::attention(const ops::AttentionArgs& a) {
  if (planning()) {
    // Views (fused QKV) bind the whole strided range of their buffer.
    auto reach = [&](const Tensor& t, const ops::TokenView& v) {
      return uint64_t(ops::view_extent(t, v)) * ops::dtype_bytes(t.dtype);
    };
    bound_whole("attention", a.q, reach(a.q, a.q_view));
    bound_whole("attention", a.k1, reach(a.k1, a.k1_view));
    bound_whole("attention", a.v1, reach(a.v1, a.v1_view));
    bound_whole("attention", a.out, reach(a.out, a.out_view));
    if (a.k2) bound_whole("attention", *a.k2, reach(*a.k2, a.k2_view));
    if (a.v2) bound_whole("attention", *a.v2, reach(*a.v2, a.v2_view));
    return;
  }
  ops::attention(*ctx_, *rec_, a);
}

void upload_floats(gpu::Context& ctx, const Tensor& t, std::span<const float> values) {
  if (int64_t(values.size()) != t.numel())
    fail("upload: " + std::to_string(values.size()) + " values for a tensor of shape " + ops::shape_string(t.shape));
  if (t.dtype == DType::F32) {
    ctx.upload(t.data, values.data(), values.size() * 4);
    return;
  }
  std::vector<uint16_t> h(values.size());
  for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(values[i]);
  ctx.upload(t.data, h.data(), h.size() * 2);
}

std::vector<float> download_floats(gpu::Context& ctx, const Tensor& t) {
  std::vector<float> out(size_t(t.numel()));
  if (t.dtype == DType::F32) {
    ctx.download(t.data, out.data(), out.size() * 4);
    return out;
  }
  std::vector<uint16_t> h(out.size());
  ctx.download(t.data, h.data(), h.size() * 2);
  for (size_t i = 0; i < h.size(); ++i) out[i] = half_to_float(h[i]);
  return out;
}

}  // namespace ezivk::models
