#include "engine/models/transformer2d.h"

namespace ezivk::models {

Act multi_head_attention(Graph& g, const AttentionViews& a, int64_t heads, bool causal) {
  const int64_t B = a.q->dim(0), N = a.q->dim(1), C = a.q->dim(2);
  Act out = g.alloc({B, N, C});
  ops::AttentionArgs args;
  args.q = *a.q;
  args.k1 = *a.k;
  args.v1 = *a.v;
  args.out = out;
  args.q_view = a.q_view;
  args.k1_view = a.k_view;
  args.v1_view = a.v_view;
  args.heads = int(heads);
  args.causal = causal;
  if (a.second) {
    args.k2 = a.second->k;
    args.v2 = a.second->v;
    args.k2_view = a.second->k_view;
    args.v2_view = a.second->v_view;
    args.w2 = a.second->weight;
  }
  if (a.capture) args.capture = *a.capture;
  g.attention(args);
  return out;
}

BasicTransformerBlock BasicTransformerBlock::load(WeightStore& ws, const std::string& p, int64_t dim, int64_t heads,
                                                  int64_t cross_dim) {
  BasicTransformerBlock b;
  b.name = p;
  b.dim = dim;
  b.heads = heads;
  b.cross_dim = cross_dim;
  b.norm1 = load_norm(ws, p + ".norm1", dim);
  b.qkv1 = load_linear_fused(ws, {p + ".attn1.to_q", p + ".attn1.to_k", p + ".attn1.to_v"}, dim, dim, false);
  b.out1 = load_linear(ws, p + ".attn1.to_out.0", dim, dim);
  b.norm2 = load_norm(ws, p + ".norm2", dim);
  b.q2 = load_linear(ws, p + ".attn2.to_q", dim, dim, false);
  b.kv2 = load_linear_fused(ws, {p + ".attn2.to_k", p + ".attn2.to_v"}, cross_dim, dim, false);
  b.out2 = load_linear(ws, p + ".attn2.to_out.0", dim, dim);
  b.norm3 = load_norm(ws, p + ".norm3", dim);
  b.ff_in = load_linear(ws, p + ".ff.net.0.proj", dim, 8 * dim);
  b.ff_out = load_linear(ws, p + ".ff.net.2", 4 * dim, dim);
  return b;
}

void BasicTransformerBlock::forward(Graph& g, const Tensor& hidden, const Tensor& context,
                                    const BlockHooks* hooks) const {
  const int64_t B = hidden.dim(0), N = hidden.dim(1), C = dim, Nc = context.dim(1);
  constexpr double kEps = 1e-5;
  {  // self-attention
    Act n1 = layer_norm(g, norm1, hidden, kEps);  // [B, N, C]
    if (hooks && hooks->on_norm1) hooks->on_norm1(g, name, n1);
    Act a;
    {
      Act qkv = linear(g, qkv1, n1);  // [B, N, 3C]
      const Tensor t{qkv.t().data, qkv.t().dtype, {B, N, C}};
      const SecondSource* second = hooks && hooks->attn1_second_source ? hooks->attn1_second_source(name) : nullptr;
      const ops::AttentionCapture* cap = second && hooks->capture ? hooks->capture(name) : nullptr;
      a = multi_head_attention(g, {&t, {0, 3 * C}, &t, {C, 3 * C}, &t, {2 * C, 3 * C}, second, cap}, heads, false);
    }
    Act o = linear(g, out1, a);
    g.add(hidden, o, hidden);
    if (hooks && hooks->extra_attention) hooks->extra_attention(g, name, n1, hidden);
  }
  {  // cross-attention over the text context
    Act n2 = layer_norm(g, norm2, hidden, kEps);
    Act q = linear(g, q2, n2);        // [B, N, C]
    Act kv = linear(g, kv2, context);  // [B, Nc, 2C]
    const Tensor k{kv.t().data, kv.t().dtype, {B, Nc, C}};
    Act a = multi_head_attention(g, {&q.t(), {}, &k, {0, 2 * C}, &k, {C, 2 * C}}, heads, false);
    Act o = linear(g, out2, a);
    g.add(hidden, o, hidden);
  }
  {  // GEGLU feed-forward
    Act n3 = layer_norm(g, norm3, hidden, kEps);
    Act p = linear(g, ff_in, n3);  // [B, N, 8C]
    n3.reset();
    Act gated = g.alloc({B, N, 4 * C});
    g.geglu(p, gated);
    p.reset();
    Act o = linear(g, ff_out, gated);
    g.add(hidden, o, hidden);
  }
}

Transformer2D Transformer2D::load(WeightStore& ws, const std::string& p, int64_t channels, int64_t heads,
                                  int64_t cross_dim, int64_t groups, int64_t layers) {
  Transformer2D t;
  t.channels = channels;
  t.groups = groups;
  t.norm = load_norm(ws, p + ".norm", channels);
  // SD1 stores proj_in/proj_out as 1×1 convs [C, C, 1, 1]; matrix() accepts both layouts (same element order).
  t.proj_in = load_linear(ws, p + ".proj_in", channels, channels);
  for (int64_t i = 0; i < layers; ++i)
    t.blocks.push_back(BasicTransformerBlock::load(ws, p + ".transformer_blocks." + std::to_string(i), channels,
                                                   heads, cross_dim));
  t.proj_out = load_linear(ws, p + ".proj_out", channels, channels);
  return t;
}

Act Transformer2D::forward(Graph& g, const Tensor& x, const Tensor& context, const BlockHooks* hooks) const {
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Act h;
  {
    Act n = group_norm(g, norm, x, groups, 1e-6, false);   // [B, C, H, W]
    Act tokens = transpose(g, n.view({B, C, H * W}));      // [B, HW, C]
    n.reset();
    h = linear(g, proj_in, tokens);                        // [B, HW, C]
  }
  for (auto& b : blocks) b.forward(g, h, context, hooks);
  Act out = g.alloc({B, C, H, W});
  {
    Act o = linear(g, proj_out, h);  // [B, HW, C]
    h.reset();
    g.transpose(o, out.view({B, C, H * W}));
  }
  g.add(out, x, out);
  return out;
}

}  // namespace ezivk::models
