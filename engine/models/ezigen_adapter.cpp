#include "engine/models/ezigen_adapter.h"

#include <cmath>

#include "engine/models/transformer2d.h"
#include "engine/util/error.h"

namespace ezivk::models {

EzigenAdapter::EzigenAdapter(const UNet2DConditionModel& unet, WeightStore& ws) {
  const auto tblocks = unet.transformer_blocks();
  const int64_t n = int64_t(tblocks.size());
  std::vector<float> weights(size_t(n), 1.f);
  ws.source().check("learnable_weights", {{n}});
  if (!ws.dry()) {
    ws.source().read("learnable_weights", weights.data());
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(weights[size_t(i)]))
        fail(ws.source().describe() + ": learnable_weights[" + std::to_string(i) + "] is not a finite number");
  }
  for (int64_t i = 0; i < n; ++i) {
    const BasicTransformerBlock& t = *tblocks[size_t(i)];
    const std::string& p = t.name;
    AdapterBlock b;
    b.block = p;
    b.dim = t.dim;
    b.heads = t.heads;
    b.norm = load_norm(ws, p + ".adapter_norm", t.dim);
    b.q = load_linear(ws, p + ".adapter.to_q", t.dim, t.dim, false);
    b.kv = load_linear_fused(ws, {p + ".adapter.to_k", p + ".adapter.to_v"}, t.dim, t.dim, false);
    b.out = load_linear(ws, p + ".adapter.to_out.0", t.dim, t.dim);
    b.weight = weights[size_t(i)];
    index_[p] = blocks_.size();
    blocks_.push_back(std::move(b));
  }
}

const AdapterBlock& EzigenAdapter::block(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("EZIGen adapter: no adapter for transformer block '" + name + "'");
  return blocks_[it->second];
}

Act EzigenAdapter::subject_kv(Graph& g, const AdapterBlock& b, const Tensor& tokens) const {
  if (tokens.rank() != 3 || tokens.dim(0) != 1 || tokens.dim(2) != b.dim)
    fail("EZIGen adapter " + b.block + ": subject tokens must be [1, tokens, " + std::to_string(b.dim) + "], got " +
         ops::shape_string(tokens.shape));
  return linear(g, b.kv, tokens);
}

void EzigenAdapter::forward(Graph& g, const AdapterBlock& b, const Tensor& hidden, const Tensor& skv,
                            const ops::AttentionCapture* capture) const {
  const int64_t B = hidden.dim(0), N = hidden.dim(1), C = b.dim, Ns = skv.dim(1);
  if (hidden.dim(2) != C || skv.rank() != 3 || skv.dim(2) != 2 * C)
    fail("EZIGen adapter " + b.block + ": hidden " + ops::shape_string(hidden.shape) + " and subject keys/values " +
         ops::shape_string(skv.shape) + " do not fit a width of " + std::to_string(C));
  Act a = layer_norm(g, b.norm, hidden, 1e-5);  // [B, N, C]
  Act attn;
  {
    Act q = linear(g, b.q, a);    // [B, N, C]
    Act kv = linear(g, b.kv, a);  // [B, N, 2C]
    const Tensor k{kv.t().data, kv.t().dtype, {B, N, C}};
    SecondSource s;
    s.k = Tensor{skv.data, skv.dtype, {skv.dim(0), Ns, C}};
    s.v = s.k;
    s.k_view = {0, 2 * C};
    s.v_view = {C, 2 * C};
    s.weight = b.weight;
    attn = multi_head_attention(g, {&q.t(), {}, &k, {0, 2 * C}, &k, {C, 2 * C}, &s, capture}, b.heads, false);
  }
  Act o = linear(g, b.out, attn);
  attn.reset();
  g.add(hidden, o, hidden);
  g.add(hidden, a, hidden);
}

}  // namespace ezivk::models
