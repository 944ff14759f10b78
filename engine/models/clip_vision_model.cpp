#include "engine/models/clip_vision_model.h"

#include "engine/util/error.h"

namespace ezivk::models {

namespace {

// Rows [row0, row0 + rows) of a tensor's leading dimension flattened with the rest, as a tensor of `shape`
// (an empty view in planning mode).
Tensor rows_of(const Tensor& t, int64_t first_elem, std::vector<int64_t> shape) {
  Tensor v{{}, t.dtype, std::move(shape)};
  if (t.data) v.data = t.data.sub(uint64_t(first_elem) * ops::dtype_bytes(t.dtype), v.bytes());
  return v;
}

}  // namespace

ClipVisionModel::ClipVisionModel(const ClipVisionConfig& c, WeightStore& ws) : config_(c) {
  const int64_t C = c.hidden_size, P = c.patch_size;
  patch_weight_ = ws.conv("vision_model.embeddings.patch_embedding.weight", C, c.num_channels, P, P);
  class_embedding_ = ws.vector("vision_model.embeddings.class_embedding", C);
  position_embedding_ = ws.matrix("vision_model.embeddings.position_embedding.weight", c.tokens(), C);
  pre_layrnorm_ = load_norm(ws, "vision_model.pre_layrnorm", C);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers_.push_back(ClipEncoderLayer::load(ws, "vision_model.encoder.layers." + std::to_string(i), C,
                                             c.intermediate_size, c.num_attention_heads, c.layer_norm_eps,
                                             c.hidden_act, false));
  post_layernorm_ = load_norm(ws, "vision_model.post_layernorm", C);
  projection_ = load_linear(ws, "visual_projection", C, c.projection_dim, false);
  ws.source().expect_unread("vision_model.embeddings.position_ids");
}

std::vector<float> ClipVisionModel::patchify(const std::vector<float>& chw, int64_t S, int64_t P) {
  if (int64_t(chw.size()) != 3 * S * S || S % P) fail("patchify: expected [3, S, S] with S a multiple of the patch");
  const int64_t G = S / P;
  std::vector<float> out;
  out.reserve(chw.size());
  for (int64_t gy = 0; gy < G; ++gy)
    for (int64_t gx = 0; gx < G; ++gx)
      for (int64_t y = 0; y < P; ++y)
        for (int64_t x = 0; x < P; ++x)
          for (int64_t ch = 0; ch < 3; ++ch) out.push_back(chw[size_t((ch * S + gy * P + y) * S + gx * P + x)]);
  return out;
}

Act ClipVisionModel::forward(Graph& g, const Tensor& patches) const {
  const int64_t C = config_.hidden_size, P = config_.patch_size, N = config_.grid() * config_.grid(), T = N + 1;
  if (patches.rank() != 3 || patches.dim(1) != N || patches.dim(2) != P * P * 3)
    fail("CLIP vision: patches must be [B, " + std::to_string(N) + ", " + std::to_string(P * P * 3) + "], got " +
         ops::shape_string(patches.shape));
  const int64_t B = patches.dim(0);
  Act x = g.alloc({B, T, C});
  {
    Act pe = g.alloc({B, N, C});  // the stride-P convolution as one product
    g.linear(patches, Tensor{patch_weight_.data, patch_weight_.dtype, {C, P * P * 3}}, std::nullopt, pe);
    for (int64_t b = 0; b < B; ++b) {
      g.copy(Tensor{class_embedding_.data, class_embedding_.dtype, {C}}, rows_of(x, b * T * C, {C}));
      g.copy(rows_of(pe, b * N * C, {N, C}), rows_of(x, (b * T + 1) * C, {N, C}));
    }
  }
  g.add(x, Tensor{position_embedding_.data, position_embedding_.dtype, {T, C}}, x, ops::AddLayout::over_batch(B, T * C));
  Act h = layer_norm(g, pre_layrnorm_, x, config_.layer_norm_eps);  // [B, T, C]
  x.reset();
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].forward(g, h);
    g.dump("vision.layers." + std::to_string(i), h);
  }
  Act pooled = g.alloc({B, C});  // the class token of each image
  for (int64_t b = 0; b < B; ++b) g.copy(rows_of(h, b * T * C, {C}), rows_of(pooled, b * C, {C}));
  h.reset();
  Act pn = layer_norm(g, post_layernorm_, pooled, config_.layer_norm_eps);
  return linear(g, projection_, pn);  // [B, projection_dim]
}

}  // namespace ezivk::models
