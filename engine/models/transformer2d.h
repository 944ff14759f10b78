#pragma once
// diffusers Transformer2DModel as SD uses it: GroupNorm (eps 1e-6) -> tokens [B, H·W, C] -> proj_in (Linear in SD2,
// a 1×1 conv in SD1: the same product on tokens) -> BasicTransformerBlocks -> proj_out -> NCHW -> + input.
// BasicTransformerBlock (LayerNorm eps 1e-5): x += attn1(norm1(x)); [extra attention]; x += attn2(norm2(x), context);
// x += ff(norm3(x)), FF = GEGLU. to_q/to_k/to_v have no bias (attn1's are fused into one [3C, C] product, attn2's
// to_k/to_v into one [2C, cross] product), to_out.0 has one.
#include <functional>
#include <string>
#include <vector>

#include "engine/models/layers.h"

namespace ezivk::models {

// Extra keys and values an attention reads after its own (EZIGen's subject tokens), in place: never concatenated.
// Shapes [1 or B, Nk2, C] (a batch of 1 serves every item, both halves of the guidance batch included).
struct SecondSource {
  Tensor k, v;
  ops::TokenView k_view, v_view;
  float weight = 1.f;  // multiplies the keys and the values (a learnable weight, or the reference mode's strength)
};

// What EZIGen attaches to every transformer block. Unset members cost one branch.
struct BlockHooks {
  // Sees each block's norm1 output [B, N, C] (the tokens attn1 attends over) before attn1 runs: the subject
  // feature bank is captured here. The tensor lives until the block finishes: copy it to keep it.
  std::function<void(Graph& g, const std::string& block, const Tensor& norm1_out)> on_norm1;
  // An extra attention module between attn1 and attn2 (EZIGen's adapter): given norm1's output and the hidden
  // state [B, N, C], it adds its output into `hidden` in place.
  std::function<void(Graph& g, const std::string& block, const Tensor& norm1_out, const Tensor& hidden)> extra_attention;
  // Keys and values attn1 reads after its own (the training-free reference mode); nullptr: none for this block.
  std::function<const SecondSource*(const std::string& block)> attn1_second_source;
  // Where the attention over the second source (attn1's in the reference mode) records what selected queries saw;
  // nullptr: nothing for this block.
  std::function<const ops::AttentionCapture*(const std::string& block)> capture;
};

struct BasicTransformerBlock {
  // Attention heads and width are attn1's; EZIGen's adapter uses the same.
  std::string name;  // checkpoint prefix, e.g. "down_blocks.0.attentions.1.transformer_blocks.0"
  int64_t dim = 0, heads = 1, cross_dim = 0;
  NormW norm1, norm2, norm3;
  LinearW qkv1, out1;  // attn1: fused to_q/to_k/to_v [3C, C]; to_out.0
  LinearW q2, kv2, out2;  // attn2: to_q [C, C]; fused to_k/to_v [2C, cross]; to_out.0
  LinearW ff_in, ff_out;  // ff.net.0.proj [8C, C]; ff.net.2 [C, 4C]

  static BasicTransformerBlock load(WeightStore& ws, const std::string& prefix, int64_t dim, int64_t heads,
                                    int64_t cross_dim);
  // hidden [B, N, C] updated in place; context [B, Nc, cross].
  void forward(Graph& g, const Tensor& hidden, const Tensor& context, const BlockHooks* hooks) const;
};

struct Transformer2D {
  int64_t channels = 0, groups = 32;
  NormW norm;
  LinearW proj_in, proj_out;
  std::vector<BasicTransformerBlock> blocks;

  static Transformer2D load(WeightStore& ws, const std::string& prefix, int64_t channels, int64_t heads,
                            int64_t cross_dim, int64_t groups, int64_t layers);
  // x [B, C, H, W] -> [B, C, H, W].
  Act forward(Graph& g, const Tensor& x, const Tensor& context, const BlockHooks* hooks) const;
};

// Multi-head attention over token-major views: q [B, Nq, C] and keys/values given by views into fused buffers.
// Used by the transformer blocks, the CLIP text encoder and the VAE's mid-block attention.
struct AttentionViews {
  const Tensor* q;       // [B, Nq, C] logical shape
  ops::TokenView q_view;
  const Tensor* k;       // [B, Nk, C] logical shape
  ops::TokenView k_view;
  const Tensor* v;
  ops::TokenView v_view;
  const SecondSource* second = nullptr;          // extra keys/values after the first source's
  const ops::AttentionCapture* capture = nullptr;  // probabilities of selected queries over the second source
};
Act multi_head_attention(Graph& g, const AttentionViews& a, int64_t heads, bool causal);

}  // namespace ezivk::models
