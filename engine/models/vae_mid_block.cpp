#include "engine/models/vae_mid_block.h"

#include "engine/util/error.h"
#include "engine/models/transformer2d.h"

namespace ezivk::models {

namespace {

constexpr double kEps = 1e-6;

struct AttentionNames {
  const char *q, *k, *v, *out;
};
constexpr AttentionNames kNewNames{"to_q", "to_k", "to_v", "to_out.0"};
constexpr AttentionNames kOldNames{"query", "key", "value", "proj_attn"};

// Which naming scheme the checkpoint uses (diffusers ≥ 0.14 writes to_q…, older VAE folders query…).
// WeightSource has no "contains" query yet, so this asks for the new name and falls back on the Error; when
// neither name is there, the Error quotes both failures so the user sees what was looked for.
// Newer folders name the attention to_q/to_k/to_v/to_out.0, older ones query/key/value/proj_attn. When neither is
// present the new names are loaded, so the error names what current diffusers expects.
const AttentionNames& detect_names(WeightStore& ws, const std::string& prefix) {
  if (!ws.source().contains(prefix + "." + kNewNames.q + ".weight") &&
      ws.source().contains(prefix + "." + kOldNames.q + ".weight"))
    return kOldNames;
  return kNewNames;
}

}  // namespace

VaeAttention VaeAttention::load(WeightStore& ws, const std::string& p, int64_t channels, int64_t groups) {
  const AttentionNames& n = detect_names(ws, p);
  VaeAttention a;
  a.channels = channels;
  a.groups = groups;
  a.group_norm = load_norm(ws, p + ".group_norm", channels);
  a.qkv = load_linear_fused(ws, {p + "." + n.q, p + "." + n.k, p + "." + n.v}, channels, channels, true);
  a.out = load_linear(ws, p + "." + n.out, channels, channels);
  return a;
}

Act VaeAttention::forward(Graph& g, const Tensor& x) const {
  const int64_t B = x.dim(0), C = channels, H = x.dim(2), W = x.dim(3), N = H * W;
  Act a;
  {
    Act qkv;
    {
      Act n = models::group_norm(g, group_norm, x, groups, kEps, false);  // [B, C, H, W]
      Act tokens = transpose(g, n.view({B, C, N}));                       // [B, N, C]
      n.reset();
      qkv = linear(g, this->qkv, tokens);  // [B, N, 3C]
    }
    const Tensor t{qkv.t().data, qkv.t().dtype, {B, N, C}};
    // One head of width C: the kernel's default scale 1/√D is diffusers' 1/√C.
    a = multi_head_attention(g, {&t, {0, 3 * C}, &t, {C, 3 * C}, &t, {2 * C, 3 * C}}, 1, false);  // [B, N, C]
  }
  Act o = linear(g, out, a);  // [B, N, C]
  a.reset();
  Act y = g.alloc({B, C, H, W});
  g.transpose(o, y.view({B, C, N}));
  g.add(y, x, y);  // residual_connection; rescale_output_factor is 1 in the VAE
  return y;
}

VaeMidBlock VaeMidBlock::load(WeightStore& ws, const std::string& p, int64_t channels, int64_t groups,
                              bool add_attention) {
  VaeMidBlock m;
  m.resnet0 = ResnetBlock2D::load(ws, p + ".resnets.0", channels, channels, 0, groups, kEps);
  if (add_attention) m.attention = VaeAttention::load(ws, p + ".attentions.0", channels, groups);
  m.resnet1 = ResnetBlock2D::load(ws, p + ".resnets.1", channels, channels, 0, groups, kEps);
  return m;
}

Act VaeMidBlock::forward(Graph& g, const Tensor& x) const {
  Act h = resnet0.forward(g, x, nullptr);
  if (attention) h = attention->forward(g, h);
  return resnet1.forward(g, h, nullptr);
}

}  // namespace ezivk::models
