#include "engine/models/weights.h"

#include <algorithm>
#include <cmath>

#include "engine/util/error.h"
#include "engine/models/graph.h"
#include "engine/ops/conv2d.h"

namespace ezivk::models {

namespace {

constexpr uint64_t kChunk = 256ull << 20;  // weights arena size; bigger tensors get their own

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string shapes_text(const std::vector<std::vector<int64_t>>& allowed) {
  std::string s;
  for (size_t i = 0; i < allowed.size(); ++i) s += (i ? " or " : "") + ops::shape_string(allowed[i]);
  return s;
}

}  // namespace

std::vector<int64_t> WeightSource::shape(const std::string& name) const {
  fail(describe() + ": cannot report the shape of '" + name + "'");
}

// --- SafetensorsSource ----------------------------------------------------------------------------------------

SafetensorsSource::SafetensorsSource(const std::vector<std::filesystem::path>& files) {
  for (auto& p : files) files_.push_back(std::make_unique<io::SafetensorsFile>(p));
  for (auto& f : files_)
    for (auto& t : f->tensors()) {
      auto [it, inserted] = index_.emplace(t.name, Where{f.get(), &t});
      if (!inserted)
        fail(f->path().string() + ": tensor '" + t.name + "' is also in " + it->second.file->path().string());
    }
}

SafetensorsSource::Where SafetensorsSource::find(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(describe() + ": missing tensor '" + name + "'");
  return it->second;
}

std::vector<int64_t> SafetensorsSource::check(const std::string& name,
                                              const std::vector<std::vector<int64_t>>& allowed) {
  auto it = index_.find(name);
  if (it == index_.end()) fail(describe() + ": missing tensor '" + name + "' (expected shape " + shapes_text(allowed) + ")");
  const auto& t = *it->second.tensor;
  if (std::find(allowed.begin(), allowed.end(), t.shape) == allowed.end())
    fail(it->second.file->path().string() + ": tensor '" + name + "' has shape " + ops::shape_string(t.shape) +
         ", expected " + shapes_text(allowed));
  if (t.dtype != io::StDType::F32 && t.dtype != io::StDType::F16 && t.dtype != io::StDType::BF16 &&
      t.dtype != io::StDType::F64)
    fail(it->second.file->path().string() + ": tensor '" + name + "' is " + io::st_dtype_name(t.dtype) +
         ", expected F32, F16, BF16 or F64");
  used_.insert(name);
  return t.shape;
}

void SafetensorsSource::read(const std::string& name, float* dst) {
  const Where w = find(name);
  w.file->to_f32(*w.tensor, dst);
}

std::string SafetensorsSource::dtype(const std::string& name) const {
  return io::st_dtype_name(find(name).tensor->dtype);
}

std::vector<std::string> SafetensorsSource::unused() const {
  std::vector<std::string> out;
  for (auto& [name, w] : index_)
    if (!used_.count(name)) out.push_back(name);
  return out;
}

std::string SafetensorsSource::describe() const {
  std::string s;
  for (size_t i = 0; i < files_.size(); ++i) s += (i ? ", " : "") + files_[i]->path().string();
  return s;
}

std::vector<std::string> SafetensorsSource::names() const {
  std::vector<std::string> out;
  for (auto& [name, w] : index_) out.push_back(name);
  return out;
}

std::map<std::string, uint64_t> SafetensorsSource::bytes_by_dtype() const {
  std::map<std::string, uint64_t> m;
  for (auto& [name, w] : index_) m[io::st_dtype_name(w.tensor->dtype)] += w.tensor->end - w.tensor->begin;
  return m;
}

// --- RandomSource ---------------------------------------------------------------------------------------------

std::vector<int64_t> RandomSource::check(const std::string& name, const std::vector<std::vector<int64_t>>& allowed) {
  shapes_[name] = allowed.at(0);
  return allowed.at(0);
}

void RandomSource::read(const std::string& name, float* dst) {
  const auto& shape = shapes_.at(name);
  const int64_t n = numel(shape);
  // FNV-1a of the name, so each tensor's values do not depend on load order.
  uint64_t h = 1469598103934665603ull ^ seed_;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  auto next = [&h] {  // splitmix64
    uint64_t z = (h += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return float(double(next() >> 11) * 0x1.0p-53) * 2.f - 1.f; };  // [-1, 1)
  const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
  const bool is_norm = name.find("norm") != std::string::npos;
  const bool is_embedding = name.find("embedding") != std::string::npos && shape.size() == 2;
  if (is_norm && !is_bias) {
    for (int64_t i = 0; i < n; ++i) dst[i] = 1.f + 0.1f * uniform();
  } else if (is_bias) {
    for (int64_t i = 0; i < n; ++i) dst[i] = 0.05f * uniform();
  } else {
    const int64_t fan_in = shape.size() > 1 && !is_embedding ? n / shape[0] : 1;
    const float a = std::sqrt(3.f / float(std::max<int64_t>(fan_in, 1)));  // uniform(-a, a) has variance 1/fan_in
    for (int64_t i = 0; i < n; ++i) dst[i] = a * uniform();
  }
}

// --- WeightStore ----------------------------------------------------------------------------------------------

WeightStore::WeightStore(gpu::Context* ctx, WeightSource& source, ops::DType dtype, std::string name)
    : ctx_(ctx), source_(&source), dtype_(dtype), name_(std::move(name)) {}

ops::Tensor WeightStore::place(std::vector<int64_t> shape, ops::DType dt, const std::vector<float>& values) {
  ops::Tensor t{{}, dt, std::move(shape)};
  const uint64_t bytes = t.bytes();
  const uint64_t align = ctx_ ? std::max<uint64_t>(256, ctx_->storage_alignment()) : 256;
  bytes_ += (bytes + align - 1) / align * align;
  params_ += t.numel();
  ++tensors_;
  if (dry()) return t;
  if (arenas_.empty() || arenas_.back().capacity() - arenas_.back().used() < bytes + align) {
    // With a hint, the chunks add up to what the model needs (plus alignment slack) instead of 256 MiB each.
    const uint64_t placed = bytes_ - (bytes + align - 1) / align * align;
    const uint64_t want = hint_ ? std::min(kChunk, hint_ > placed ? hint_ - placed + align : align) : kChunk;
    const uint64_t cap = std::max(want, (bytes + align) / align * align + align);
    arenas_.emplace_back(*ctx_, name_ + " weights " + std::to_string(arenas_.size()), cap, gpu::MemoryUse::Device);
  }
  t.data = arenas_.back().alloc(bytes, align);
  upload_floats(*ctx_, t, values);  // converts to the tensor's dtype
  return t;
}

std::vector<float> WeightStore::read_stacked(const std::vector<std::string>& names,
                                             const std::vector<std::vector<std::vector<int64_t>>>& allowed) {
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < names.size(); ++i) sizes.push_back(numel(source_->check(names[i], allowed[i])));
  tensors_ += int64_t(names.size()) - 1;  // counted as stored; place() counts the stacked tensor once
  std::vector<float> v;
  if (dry()) return v;
  int64_t total = 0;
  for (auto n : sizes) total += n;
  v.resize(size_t(total));
  int64_t at = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    source_->read(names[i], v.data() + at);
    at += sizes[i];
  }
  return v;
}

void WeightStore::share_from(const WeightStore& other, std::set<std::string> same) {
  if (other.dtype_ != dtype_) fail(name_ + ": cannot share weights with a store of another dtype");
  share_ = &other;
  same_ = std::move(same);
}

namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string k;
  for (auto& n : names) k += (k.empty() ? "" : "|") + n;
  return k;
}
}  // namespace

std::optional<ops::Tensor> WeightStore::borrow(const std::vector<std::string>& names,
                                               const std::vector<std::vector<std::vector<int64_t>>>& allowed) {
  if (!share_) return std::nullopt;
  for (auto& n : names)
    if (!same_.count(n)) return std::nullopt;
  auto it = share_->placed_.find(joined(names));
  if (it == share_->placed_.end()) return std::nullopt;
  for (size_t i = 0; i < names.size(); ++i) source_->check(names[i], allowed[i]);
  shared_bytes_ += it->second.bytes();
  return it->second;
}

ops::Tensor WeightStore::remember(const std::vector<std::string>& names, ops::Tensor t) {
  placed_[joined(names)] = t;
  return t;
}

ops::Tensor WeightStore::matrix(const std::string& name, int64_t rows, int64_t cols) {
  return matrix_concat({name}, {rows}, cols);
}

ops::Tensor WeightStore::matrix_concat(const std::vector<std::string>& names, const std::vector<int64_t>& rows,
                                       int64_t cols) {
  std::vector<std::vector<std::vector<int64_t>>> allowed;
  int64_t total = 0;
  for (auto r : rows) {
    allowed.push_back({{r, cols}, {r, cols, 1, 1}});  // a 1×1 conv weight has the same element order
    total += r;
  }
  if (auto t = borrow(names, allowed)) return *t;
  return remember(names, place({total, cols}, dtype_, read_stacked(names, allowed)));
}

ops::Tensor WeightStore::vector(const std::string& name, int64_t n) { return vector_concat({name}, {n}); }

ops::Tensor WeightStore::vector_concat(const std::vector<std::string>& names, const std::vector<int64_t>& n) {
  std::vector<std::vector<std::vector<int64_t>>> allowed;
  int64_t total = 0;
  for (auto k : n) {
    allowed.push_back({{k}});
    total += k;
  }
  if (auto t = borrow(names, allowed)) return *t;
  return remember(names, place({total}, dtype_, read_stacked(names, allowed)));
}

ops::Tensor WeightStore::f32(const std::string& name, int64_t n) {
  if (auto t = borrow({name}, {{{n}}})) return *t;
  return remember({name}, place({n}, ops::DType::F32, read_stacked({name}, {{{n}}})));
}

ops::Tensor WeightStore::conv(const std::string& name, int64_t cout, int64_t cin, int64_t kh, int64_t kw) {
  if (auto t = borrow({name}, {{{cout, cin, kh, kw}}})) return *t;
  std::vector<float> v = read_stacked({name}, {{{cout, cin, kh, kw}}});
  if (!dry()) v = ops::conv2d_weights_to_ohwi(v, int(cout), int(cin), int(kh), int(kw));
  return remember({name}, place({cout, kh, kw, cin}, dtype_, v));
}

}  // namespace ezivk::models
