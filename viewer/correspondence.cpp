#include "viewer/correspondence.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/util/error.h"

namespace ezivk::viewer {

Correspondence::Correspondence(int gw, int gh, int tokens, std::vector<std::string> blocks)
    : gw_(gw), gh_(gh), tokens_(tokens), side_(int(std::lround(std::sqrt(double(tokens))))), blocks_(std::move(blocks)) {
  if (gw < 1 || gh < 1 || tokens < 1 || blocks_.empty()) fail("correspondence: empty query grid, subject or block list");
  for (size_t i = 0; i < blocks_.size(); ++i) block_index_[blocks_[i]] = int(i);
  latest_ = building_ = mean_ = empty_step();
}

Correspondence::Step Correspondence::empty_step() const {
  Step s;
  s.probs.assign(blocks_.size(), std::vector<float>(size_t(queries()) * size_t(tokens_), 0.f));
  s.mass.assign(blocks_.size(), std::vector<float>(size_t(queries()), 0.f));
  s.filled.assign(blocks_.size(), 0);
  return s;
}

int Correspondence::query_at(float x, float y) const {
  const int i = std::clamp(int(x * float(gw_)), 0, gw_ - 1), j = std::clamp(int(y * float(gh_)), 0, gh_ - 1);
  return j * gw_ + i;
}

std::pair<float, float> Correspondence::query_centre(int q) const {
  return {(float(q % gw_) + 0.5f) / float(gw_), (float(q / gw_) + 0.5f) / float(gh_)};
}

bool Correspondence::add(const pipeline::AttentionCaptured& a) {
  const auto it = block_index_.find(a.block);
  if (it == block_index_.end()) fail("correspondence: a capture of block '" + a.block + "', which is not followed");
  const auto& shape = a.probs->shape;  // [B, queries, tokens]
  if (shape.size() != 3 || shape[1] != queries() || shape[2] != tokens_)
    fail("correspondence: block '" + a.block + "' captured a shape that is not [B, " + std::to_string(queries()) + ", " +
         std::to_string(tokens_) + "]");
  if (a.round != b_round_ || a.step != b_step_) {
    building_ = empty_step();
    b_round_ = a.round;
    b_step_ = a.step;
    b_head_ = a.head;
  }
  if (a.head != b_head_) fail("correspondence: block '" + a.block + "' was captured with another head than the step's others");
  const int b = it->second;
  const size_t qk = size_t(queries()) * size_t(tokens_);
  const size_t last = size_t(shape[0] - 1);  // the conditional half: the last item of the guidance batch
  std::copy_n(a.probs->values.begin() + std::ptrdiff_t(last * qk), qk, building_.probs[size_t(b)].begin());
  std::copy_n(a.mass->values.begin() + std::ptrdiff_t(last * size_t(queries())), size_t(queries()),
              building_.mass[size_t(b)].begin());
  building_.filled[size_t(b)] = 1;
  if (std::count(building_.filled.begin(), building_.filled.end(), 1) != std::ptrdiff_t(blocks_.size())) return false;

  // The step is complete.
  if (!empty()) {
    prev_step_best_ = best_tokens(latest_, -1);
    if (b_round_ != round_) prev_round_best_ = prev_step_best_;
  }
  if (b_round_ != round_) {
    mean_ = empty_step();
    steps_in_round_ = 0;
    round_heads_mixed_ = false;
  } else if (b_head_ != head_) {
    round_heads_mixed_ = true;
  }
  head_ = b_head_;
  latest_ = building_;
  ++steps_in_round_;
  const float w = 1.f / float(steps_in_round_);
  for (size_t k = 0; k < blocks_.size(); ++k) {
    for (size_t i = 0; i < qk; ++i) mean_.probs[k][i] += (latest_.probs[k][i] - mean_.probs[k][i]) * w;
    for (size_t i = 0; i < size_t(queries()); ++i) mean_.mass[k][i] += (latest_.mass[k][i] - mean_.mass[k][i]) * w;
    mean_.filled[k] = 1;
  }
  round_ = b_round_;
  step_ = b_step_;
  return true;
}

std::shared_ptr<const Correspondence> Correspondence::snapshot() const {
  auto c = std::make_shared<Correspondence>(*this);
  c->building_ = {};
  return c;
}

uint64_t Correspondence::bytes() const {
  uint64_t n = 0;
  for (const Step* s : {&latest_, &building_, &mean_}) {
    for (const auto& v : s->probs) n += v.size() * sizeof(float);
    for (const auto& v : s->mass) n += v.size() * sizeof(float);
  }
  return n;
}

float Correspondence::at(const std::vector<std::vector<float>>& per_block, int block, size_t i) const {
  if (block >= 0 && block < int(blocks_.size())) return per_block[size_t(block)][i];
  float v = 0.f;
  for (const auto& p : per_block) v += p[i] / float(blocks_.size());
  return v;
}

std::vector<int> Correspondence::best_tokens(const Step& s, int block) const {
  std::vector<float> scratch;
  const float* p;
  if (block >= 0) {
    p = s.probs[size_t(block)].data();
  } else {  // the sum has the same argmax as the mean
    scratch.assign(s.probs[0].size(), 0.f);
    for (const auto& v : s.probs)
      for (size_t i = 0; i < v.size(); ++i) scratch[i] += v[i];
    p = scratch.data();
  }
  std::vector<int> best(static_cast<size_t>(queries()));
  for (int q = 0; q < queries(); ++q) {
    const float* row = p + size_t(q) * size_t(tokens_);
    best[size_t(q)] = int(std::max_element(row, row + tokens_) - row);
  }
  return best;
}

// Every map below reads only the entries it needs (a row, a column, the masses): the UI asks for them each frame,
// and the Layers tab once per block and step shown, so nothing here aggregates a whole [queries x tokens] matrix.
PointMap Correspondence::forward(int query, const Aggregation& g) const {
  PointMap m;
  if (empty() || query < 0 || query >= queries()) return m;
  const Step& s = level(g);
  const size_t row = size_t(query) * size_t(tokens_);
  m.probs.resize(size_t(tokens_));
  for (int k = 0; k < tokens_; ++k) m.probs[size_t(k)] = at(s.probs, g.block, row + size_t(k));
  m.mass = at(s.mass, g.block, size_t(query));
  m.best = int(std::max_element(m.probs.begin(), m.probs.end()) - m.probs.begin());
  float top = -1.f;
  for (int q = 0; q < queries(); ++q) {
    const float v = at(s.probs, g.block, size_t(q) * size_t(tokens_) + size_t(m.best));
    if (v > top) top = v, m.back = q;
  }
  m.cycle_consistent = std::abs(m.back % gw_ - query % gw_) <= 1 && std::abs(m.back / gw_ - query / gw_) <= 1;
  // Movement is of the all-blocks best match of the latest step (the sum has the mean's argmax, as in best_tokens).
  int now = 0;
  float best_sum = -1.f;
  for (int k = 0; k < tokens_; ++k) {
    float v = 0.f;
    for (const auto& p : latest_.probs) v += p[row + size_t(k)];
    if (v > best_sum) best_sum = v, now = k;
  }
  auto dist = [&](int a, int b) { return std::hypot(double(a % side_ - b % side_), double(a / side_ - b / side_)); };
  if (!prev_step_best_.empty()) m.moved_step = dist(now, prev_step_best_[size_t(query)]);
  if (!prev_round_best_.empty()) m.moved_round = dist(now, prev_round_best_[size_t(query)]);
  return m;
}

std::vector<float> Correspondence::reverse(int token, const Aggregation& g) const {
  std::vector<float> out;
  if (empty() || token < 0 || token >= tokens_) return out;
  const Step& s = level(g);
  out.resize(size_t(queries()));
  for (int q = 0; q < queries(); ++q) out[size_t(q)] = at(s.probs, g.block, size_t(q) * size_t(tokens_) + size_t(token));
  return out;
}

std::vector<float> Correspondence::reliance(const Aggregation& g) const {
  if (empty()) return {};
  const Step& s = level(g);
  std::vector<float> out(static_cast<size_t>(queries()));
  for (int q = 0; q < queries(); ++q) out[size_t(q)] = at(s.mass, g.block, size_t(q));
  return out;
}

}  // namespace ezivk::viewer
