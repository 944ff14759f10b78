#include "engine/models/clip_text_model.h"

#include "engine/util/error.h"
#include "engine/models/transformer2d.h"

namespace ezivk::models {

ClipEncoderLayer ClipEncoderLayer::load(WeightStore& ws, const std::string& p, const ClipTextConfig& c) {
  return load(ws, p, c.hidden_size, c.intermediate_size, c.num_attention_heads, c.layer_norm_eps, c.hidden_act, true);
}

ClipEncoderLayer ClipEncoderLayer::load(WeightStore& ws, const std::string& p, int64_t C, int64_t I, int64_t heads,
                                        double eps, ops::Activation act, bool causal) {
  ClipEncoderLayer l;
  l.dim = C;
  l.heads = heads;
  l.eps = eps;
  l.act = act;
  l.causal = causal;
  l.layer_norm1 = load_norm(ws, p + ".layer_norm1", C);
  l.qkv = load_linear_fused(ws, {p + ".self_attn.q_proj", p + ".self_attn.k_proj", p + ".self_attn.v_proj"}, C, C,
                            true);
  l.out_proj = load_linear(ws, p + ".self_attn.out_proj", C, C);
  l.layer_norm2 = load_norm(ws, p + ".layer_norm2", C);
  l.fc1 = load_linear(ws, p + ".mlp.fc1", C, I);
  l.fc2 = load_linear(ws, p + ".mlp.fc2", I, C);
  return l;
}

void ClipEncoderLayer::forward(Graph& g, const Tensor& hidden) const {
  const int64_t B = hidden.dim(0), S = hidden.dim(1), C = dim;
  {  // self-attention
    Act a;
    {
      Act qkv_out;
      {
        Act n1 = layer_norm(g, layer_norm1, hidden, eps);  // [B, S, C]
        qkv_out = linear(g, qkv, n1);                      // [B, S, 3C]
      }
      const Tensor t{qkv_out.t().data, qkv_out.t().dtype, {B, S, C}};
      // CLIP scales q by head_dim^-0.5: the kernel's default 1/√D.
      a = multi_head_attention(g, {&t, {0, 3 * C}, &t, {C, 3 * C}, &t, {2 * C, 3 * C}}, heads, causal);  // [B, S, C]
    }
    Act o = linear(g, out_proj, a);
    a.reset();
    g.add(hidden, o, hidden);
  }
  {  // MLP
    Act h;
    {
      Act n2 = layer_norm(g, layer_norm2, hidden, eps);
      h = linear(g, fc1, n2);  // [B, S, I]
    }
    Act act_out = g.alloc(h.shape());
    g.activation(act, h, act_out);
    h.reset();
    Act o = linear(g, fc2, act_out);  // [B, S, C]
    act_out.reset();
    g.add(hidden, o, hidden);
  }
}

ClipTextModel::ClipTextModel(const ClipTextConfig& config, WeightStore& ws) : config_(config) {
  const int64_t C = config_.hidden_size;
  token_embedding_ = ws.matrix("text_model.embeddings.token_embedding.weight", config_.vocab_size, C);
  position_embedding_ =
      ws.matrix("text_model.embeddings.position_embedding.weight", config_.max_position_embeddings, C);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i)
    layers_.push_back(ClipEncoderLayer::load(ws, "text_model.encoder.layers." + std::to_string(i), config_));
  final_layer_norm_ = load_norm(ws, "text_model.final_layer_norm", C);
  // A buffer of 0..76 that transformers saves with the weights; positions are implicit here.
  ws.source().expect_unread("text_model.embeddings.position_ids");
}

Act ClipTextModel::forward(Graph& g, const gpu::Slice& ids, int64_t batch, int64_t seq) const {
  const int64_t C = config_.hidden_size;
  if (batch < 1) fail("ClipTextModel: batch must be at least 1, got " + std::to_string(batch));
  if (seq < 1 || seq > config_.max_position_embeddings)
    fail("ClipTextModel: seq must be 1 to max_position_embeddings = " +
         std::to_string(config_.max_position_embeddings) + ", got " + std::to_string(seq));
  if (!g.planning() && ids.size < uint64_t(batch * seq) * 4)  // planning passes no buffer
    fail("ClipTextModel: the ids buffer holds " + std::to_string(ids.size) + " bytes, fewer than the " +
         std::to_string(batch * seq) + " uint32 ids of batch " + std::to_string(batch) + " × seq " +
         std::to_string(seq));
  if (token_embedding_.dtype != g.dtype())
    fail(std::string("ClipTextModel: the weights are ") + ops::dtype_name(token_embedding_.dtype) +
         ", but the graph computes in " + ops::dtype_name(g.dtype()));
  Act x = g.alloc({batch, seq, C});
  g.embedding(ids, uint32_t(batch * seq), token_embedding_, x.view({batch * seq, C}));  // [B·S, C]
  // Positions 0..seq-1 are the first seq rows of the table: a view, added to every batch item.
  const Tensor pos{position_embedding_.data ? position_embedding_.data.sub(0, uint64_t(seq * C) *
                                                                                  ops::dtype_bytes(g.dtype()))
                                            : gpu::Slice{},
                   position_embedding_.dtype,
                   {seq, C}};
  g.add(x, pos, x, ops::AddLayout::over_batch(batch, seq * C));
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].forward(g, x);
    g.dump("text.layers." + std::to_string(i), x);
  }
  Act y = layer_norm(g, final_layer_norm_, x, config_.layer_norm_eps);  // [B, S, C]
  g.dump("text.final", y);
  return y;
}

}  // namespace ezivk::models
