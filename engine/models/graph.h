#pragma once
// What a model forward records into: the recorder, an activation pool whose peak is planned, and the ops
// as one-line calls. A forward runs twice with the same code: first in planning mode (tensors get offsets but no
// memory, no op is recorded) to learn the activation peak, then for real in an arena of exactly that size.
// Activations are move-only `Act`s that return their bytes to the pool when they go out of scope; the recorder's
// barriers make the reuse of freed bytes by a later dispatch safe.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/activation.h"
#include "engine/ops/add.h"
#include "engine/ops/attention.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/tensor.h"

namespace ezivk::models {

using ops::DType;
using ops::Tensor;

// First-fit allocator of byte offsets with coalescing frees; remembers its peak.
class OffsetPool {
 public:
  explicit OffsetPool(uint64_t align = 256) : align_(align) {}
  // Throws when `bytes` (rounded up) or the pool's end would pass kMaxBytes: no offset arithmetic can wrap.
  uint64_t alloc(uint64_t bytes);
  // Runs in destructors, so it never throws: a range released twice marks the pool broken, and the next alloc()
  // (or check()) reports it.
  void release(uint64_t offset, uint64_t bytes) noexcept;
  void check() const;
  uint64_t peak() const { return peak_; }
  uint64_t in_use() const { return in_use_; }
  static constexpr uint64_t kMaxBytes = uint64_t(1) << 56;

 private:
  uint64_t align_, end_ = 0, peak_ = 0, in_use_ = 0;
  uint64_t broken_at_ = UINT64_MAX;  // the offset released twice, if any
  std::map<uint64_t, uint64_t> free_;  // offset -> size, below end_
};

class Graph;

// The largest tensor a forward binds whole (in one storage-buffer binding): what limits the sizes a device can run,
// since ops that split their work into runs (gemm, geglu, embedding) are not counted.
struct WholeBinding {
  uint64_t bytes = 0;
  std::string op;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  std::string describe() const;  // "'conv2d' binds [2, 640, 256, 256] f16 (160.0 MiB) whole"
};

// An activation tensor owned by a Graph's pool.
class Act {
 public:
  Act() = default;
  Act(Act&& o) noexcept { *this = std::move(o); }
  Act& operator=(Act&& o) noexcept;
  Act(const Act&) = delete;
  Act& operator=(const Act&) = delete;
  ~Act() { reset(); }
  void reset() noexcept;

  const Tensor& t() const { return t_; }
  operator const Tensor&() const { return t_; }
  const std::vector<int64_t>& shape() const { return t_.shape; }
  int64_t dim(int i) const { return t_.dim(i); }
  // The same bytes under another shape with the same element count.
  Tensor view(std::vector<int64_t> shape) const;

 private:
  friend class Graph;
  Graph* g_ = nullptr;
  Tensor t_;
  uint64_t off_ = 0, bytes_ = 0;
};

// Where --dump writes: every dump point whose name starts with one of the prefixes (all when empty).
struct DumpOptions {
  std::filesystem::path dir;
  std::vector<std::string> prefixes;
};

class Graph {
 public:
  // Planning mode: no recorder and no memory.
  static Graph planning(gpu::Context& ctx, DType dtype);
  // Real mode: activations come from `memory` (at least the planned peak).
  Graph(gpu::Context& ctx, gpu::Recorder& rec, gpu::Slice memory, DType dtype, const DumpOptions* dump = nullptr);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  bool planning() const { return rec_ == nullptr; }
  DType dtype() const { return dtype_; }
  gpu::Context& ctx() const { return *ctx_; }
  uint64_t peak() const { return pool_.peak(); }
  // Planning mode: the widest tensor an op of this forward binds whole.
  const WholeBinding& widest_binding() const { return widest_; }

  Act alloc(std::vector<int64_t> shape) { return alloc(std::move(shape), dtype_); }
  Act alloc(std::vector<int64_t> shape, DType dtype);

  // Writes `t` as <dir>/<name>.npy (float32) when dumping is on and the name is selected; flushes the recorder.
  void dump(const std::string& name, const Tensor& t);
  bool dumping() const { return dump_ && !planning(); }

  // The ops, recorded only in real mode.
  void linear(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, const Tensor& y);
  void linear_strided(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, const Tensor& y,
                      uint32_t ldy);
  void conv2d(const ops::Conv2dArgs& a);
  void group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y, uint32_t groups,
                  float eps, bool silu);
  void layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& y, float eps);
  void activation(ops::Activation kind, const Tensor& x, const Tensor& y);
  void geglu(const Tensor& x, const Tensor& y);
  void add(const Tensor& a, const Tensor& b, const Tensor& out, const ops::AddLayout& layout, float alpha = 1.f);
  void add(const Tensor& a, const Tensor& b, const Tensor& out, float alpha = 1.f);
  void transpose(const Tensor& x, const Tensor& y);
  void upsample_nearest2x(const Tensor& x, const Tensor& y);
  void upsample_nearest(const Tensor& x, const Tensor& y);
  void concat_channels(const Tensor& a, const Tensor& b, const Tensor& y);
  void timestep_embedding(const Tensor& t, const Tensor& y, bool flip_sin_to_cos, float shift);
  void embedding(const gpu::Slice& ids, uint32_t count, const Tensor& table, const Tensor& y);
  void attention(const ops::AttentionArgs& a);
  // dst = src, byte for byte (same dtype and element count; dst may live outside the pool: a hook keeping what it
  // sees). Checked in planning mode too.
  void copy(const Tensor& src, const Tensor& dst);

 private:
  Graph(gpu::Context& ctx, DType dtype);
  friend class Act;
  void release(uint64_t off, uint64_t bytes) noexcept { pool_.release(off, bytes); }
  // Planning mode: notes tensors an op binds whole (`bytes` overrides the shape's size: strided views).
  void bound_whole(const char* op, std::initializer_list<const Tensor*> ts);
  void bound_whole(const char* op, const Tensor& t, uint64_t bytes);
  WholeBinding widest_;

  gpu::Context* ctx_;
  gpu::Recorder* rec_ = nullptr;
  gpu::Slice memory_;
  DType dtype_;
  OffsetPool pool_;
  const DumpOptions* dump_ = nullptr;
};

// Host <-> device helpers for model inputs and outputs in any activation dtype (fp16 converted on the host).
void upload_floats(gpu::Context& ctx, const Tensor& t, std::span<const float> values);
std::vector<float> download_floats(gpu::Context& ctx, const Tensor& t);

}  // namespace ezivk::models
