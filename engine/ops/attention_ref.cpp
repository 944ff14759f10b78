// The CPU references for attention: softmax(Q·Kᵀ·scale)·V over [first ‖ w2·second] keys, in double.
#include <algorithm>
#include <cmath>

#include "engine/util/error.h"
#include "engine/ops/attention.h"

namespace ezivk::ops {

namespace {

struct Rows {
  const AttentionShape& s;
  const std::vector<float>& q;
  const std::vector<float>& k1;
  const std::vector<float>& k2;
  int64_t hd() const { return s.heads * s.head_dim; }
  int64_t nk() const { return s.nk1 + s.nk2; }
  double scale() const { return s.scale > 0.f ? double(s.scale) : 1.0 / std::sqrt(double(s.head_dim)); }
  const float* key(int64_t b, int64_t j) const {
    if (j < s.nk1) return &k1[size_t(((s.kv1_batch == 1 ? 0 : b) * s.nk1 + j) * hd())];
    return &k2[size_t(((s.kv2_batch == 1 ? 0 : b) * s.nk2 + (j - s.nk1)) * hd())];
  }
  bool visible(int64_t i, int64_t j) const { return !(s.causal && j < s.nk1 && j > i); }
  // Softmax probabilities of query i (batch b, head h) over all keys; masked keys get 0.
  std::vector<double> probs(int64_t b, int64_t h, int64_t i) const {
    const float* qr = &q[size_t((b * s.nq + i) * hd() + h * s.head_dim)];
    std::vector<double> p(size_t(nk()), 0.0);
    double mx = -INFINITY;
    for (int64_t j = 0; j < nk(); ++j) {
      if (!visible(i, j)) continue;
      const double w = j < s.nk1 ? 1.0 : double(s.w2);
      const float* kr = key(b, j) + h * s.head_dim;
      double acc = 0;
      for (int64_t d = 0; d < s.head_dim; ++d) acc += double(qr[d]) * w * double(kr[d]);
      p[size_t(j)] = acc * scale();
      mx = std::max(mx, p[size_t(j)]);
    }
    double sum = 0;
    for (int64_t j = 0; j < nk(); ++j) {
      p[size_t(j)] = visible(i, j) ? std::exp(p[size_t(j)] - mx) : 0.0;
      sum += p[size_t(j)];
    }
    for (auto& x : p) x /= sum;
    return p;
  }
};

void check(const AttentionShape& s, const std::vector<float>& q, const std::vector<float>& k1, const std::vector<float>& v1,
           const std::vector<float>& k2, const std::vector<float>& v2) {
  const size_t hd = size_t(s.heads * s.head_dim);
  if (q.size() != size_t(s.batch * s.nq) * hd || k1.size() != size_t(s.kv1_batch * s.nk1) * hd || v1.size() != k1.size() ||
      k2.size() != size_t(s.kv2_batch * s.nk2) * hd || v2.size() != k2.size())
    fail("attention_ref: input sizes do not match the shape");
}

}  // namespace

std::vector<float> attention_ref(const AttentionShape& s, const std::vector<float>& q, const std::vector<float>& k1,
                                 const std::vector<float>& v1, const std::vector<float>& k2, const std::vector<float>& v2) {
  check(s, q, k1, v1, k2, v2);
  const Rows rows{s, q, k1, k2};
  const int64_t hd = rows.hd();
  std::vector<float> out(size_t(s.batch * s.nq * hd));
  std::vector<double> acc(size_t(s.head_dim));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < s.nq; ++i) {
        const auto p = rows.probs(b, h, i);
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < rows.nk(); ++j) {
          if (p[size_t(j)] == 0.0) continue;
          const bool first = j < s.nk1;
          const double w = first ? 1.0 : double(s.w2);
          const float* vr = first ? &v1[size_t(((s.kv1_batch == 1 ? 0 : b) * s.nk1 + j) * hd)]
                                  : &v2[size_t(((s.kv2_batch == 1 ? 0 : b) * s.nk2 + (j - s.nk1)) * hd)];
          for (int64_t d = 0; d < s.head_dim; ++d) acc[size_t(d)] += p[size_t(j)] * w * double(vr[h * s.head_dim + d]);
        }
        for (int64_t d = 0; d < s.head_dim; ++d) out[size_t((b * s.nq + i) * hd + h * s.head_dim + d)] = float(acc[size_t(d)]);
      }
  return out;
}

AttentionCaptureRef attention_capture_ref(const AttentionShape& s, const std::vector<float>& q,
                                          const std::vector<float>& k1, const std::vector<float>& k2,
                                          const std::vector<uint32_t>& ids, int32_t head) {
  const Rows rows{s, q, k1, k2};
  const size_t n = ids.size();
  AttentionCaptureRef r{std::vector<float>(size_t(s.batch) * n * size_t(s.nk2), 0.f), std::vector<float>(size_t(s.batch) * n, 0.f)};
  for (int64_t b = 0; b < s.batch; ++b)
    for (size_t k = 0; k < n; ++k) {
      if (int64_t(ids[k]) >= s.nq) continue;
      std::vector<double> avg(size_t(s.nk2), 0.0);
      const int64_t h0 = head < 0 ? 0 : head, h1 = head < 0 ? s.heads : head + 1;
      for (int64_t h = h0; h < h1; ++h) {
        const auto p = rows.probs(b, h, int64_t(ids[k]));
        for (int64_t j = 0; j < s.nk2; ++j) avg[size_t(j)] += p[size_t(s.nk1 + j)] / double(h1 - h0);
      }
      double mass = 0;
      for (int64_t j = 0; j < s.nk2; ++j) {
        r.probs[(size_t(b) * n + k) * size_t(s.nk2) + size_t(j)] = float(avg[size_t(j)]);
        mass += avg[size_t(j)];
      }
      r.mass[size_t(b) * n + k] = float(mass);
    }
  return r;
}

}  // namespace ezivk::ops
