#pragma once
// EZIGen's adapter: one extra attention per BasicTransformerBlock, between attn1 and attn2, over the block's own
// tokens followed by the subject's. As the authors' reference computes it (h1: the hidden state after attn1's
// residual, s: the block's subject tokens, w: its learnable weight):
//   a  = adapter_norm(h1)                      LayerNorm, eps 1e-5
//   h' = h1 + to_out(Attn(to_q(a), to_k([a ; w·s]), to_v([a ; w·s]))) + a
// The "+ a" is the adapter attention's residual_connection. Heads and head width are attn1's. to_k/to_v have no
// bias, so to_k(w·s) = w·to_k(s): the subject's keys and values are projected once per run (subject_kv) and the
// attention kernel applies w to them as its second source, which it reads in place.
// Checkpoint keys per block: <block>.adapter.{to_q,to_k,to_v}.weight, <block>.adapter.to_out.0.{weight,bias},
// <block>.adapter_norm.{weight,bias}; and learnable_weights [blocks] in execution order (down, mid, up).
#include <map>
#include <string>
#include <vector>

#include "engine/models/layers.h"
#include "engine/models/unet2d_condition.h"

namespace ezivk::models {

struct AdapterBlock {
  std::string block;  // the transformer block's checkpoint prefix
  int64_t dim = 0, heads = 1;
  NormW norm;       // adapter_norm
  LinearW q;        // adapter.to_q [C, C]
  LinearW kv;       // adapter.to_k and to_v fused [2C, C]
  LinearW out;      // adapter.to_out.0
  float weight = 1.f;  // learnable_weights[index]
};

class EzigenAdapter {
 public:
  // Reads every adapter of `unet`'s transformer blocks from ws's source (dry store: names and shapes only; the
  // learnable weights are then 1). Errors name the missing or misshapen tensor.
  EzigenAdapter(const UNet2DConditionModel& unet, WeightStore& ws);

  const std::vector<AdapterBlock>& blocks() const { return blocks_; }
  const AdapterBlock& block(const std::string& name) const;

  // tokens [1, Ns, C] -> [1, Ns, 2C]: to_k(tokens) | to_v(tokens), unweighted.
  Act subject_kv(Graph& g, const AdapterBlock& b, const Tensor& tokens) const;
  // hidden [B, N, C] (h1) updated in place to h'. subject_kv from subject_kv() ([1, Ns, 2C], shared by every item);
  // capture: probabilities of selected queries over the subject tokens.
  void forward(Graph& g, const AdapterBlock& b, const Tensor& hidden, const Tensor& subject_kv,
               const ops::AttentionCapture* capture = nullptr) const;

 private:
  std::vector<AdapterBlock> blocks_;
  std::map<std::string, size_t> index_;
};

}  // namespace ezivk::models
