#pragma once
// The parameterised layers every model is built from (Linear, Conv2d, GroupNorm/LayerNorm parameters), loaded by
// checkpoint name and applied on a Graph. Loading names follow the checkpoint: `prefix + ".weight"`.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/models/graph.h"
#include "engine/models/weights.h"

namespace ezivk::models {

struct LinearW {
  Tensor w;                   // [out, in]
  std::optional<Tensor> b;    // [out]
  int64_t in = 0, out = 0;
};
LinearW load_linear(WeightStore& ws, const std::string& prefix, int64_t in, int64_t out, bool bias = true);
// Several Linears over the same input fused into one [Σ out, in] product (QKV); biases all or none.
LinearW load_linear_fused(WeightStore& ws, const std::vector<std::string>& prefixes, int64_t in, int64_t out_each,
                          bool bias);
// x [..., in] -> [..., out].
Act linear(Graph& g, const LinearW& l, const Tensor& x);

struct ConvW {
  Tensor w;  // OHWI [cout, k, k, cin]
  std::optional<Tensor> b;
  int64_t cin = 0, cout = 0, k = 1;
};
ConvW load_conv(WeightStore& ws, const std::string& prefix, int64_t cin, int64_t cout, int64_t k, bool bias = true);
// Same-size convolution (pad k/2) or, with stride 2, the UNet's downsampler (pad 1 all round).
Act conv(Graph& g, const ConvW& c, const Tensor& x, int stride = 1);
// Explicit padding (the VAE encoder's downsampler pads only right and bottom).
Act conv(Graph& g, const ConvW& c, const Tensor& x, int stride, int pad_top, int pad_left, int pad_bottom,
         int pad_right);

struct NormW {
  Tensor gamma, beta;  // f32 [C]
};
NormW load_norm(WeightStore& ws, const std::string& prefix, int64_t channels);

// GroupNorm (optionally fused with the SiLU after it) into a new activation of x's shape.
Act group_norm(Graph& g, const NormW& n, const Tensor& x, int64_t groups, double eps, bool silu);
Act layer_norm(Graph& g, const NormW& n, const Tensor& x, double eps);
// [B, R, C] -> [B, C, R] (NCHW feature maps are [B, C, H·W]).
Act transpose(Graph& g, const Tensor& x);

}  // namespace ezivk::models
