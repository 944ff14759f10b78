#include "engine/models/layers.h"

namespace ezivk::models {

LinearW load_linear(WeightStore& ws, const std::string& prefix, int64_t in, int64_t out, bool bias) {
  LinearW l;
  l.in = in;
  l.out = out;
  l.w = ws.matrix(prefix + ".weight", out, in);
  if (bias) l.b = ws.vector(prefix + ".bias", out);
  return l;
}

LinearW load_linear_fused(WeightStore& ws, const std::vector<std::string>& prefixes, int64_t in, int64_t out_each,
                          bool bias) {
  LinearW l;
  l.in = in;
  l.out = out_each * int64_t(prefixes.size());
  std::vector<std::string> w, b;
  for (auto& p : prefixes) {
    w.push_back(p + ".weight");
    b.push_back(p + ".bias");
  }
  const std::vector<int64_t> rows(prefixes.size(), out_each);
  l.w = ws.matrix_concat(w, rows, in);
  if (bias) l.b = ws.vector_concat(b, rows);
  return l;
}

Act linear(Graph& g, const LinearW& l, const Tensor& x) {
  auto shape = x.shape;
  shape.back() = l.out;
  Act y = g.alloc(shape);
  g.linear(x, l.w, l.b, y);
  return y;
}

ConvW load_conv(WeightStore& ws, const std::string& prefix, int64_t cin, int64_t cout, int64_t k, bool bias) {
  ConvW c;
  c.cin = cin;
  c.cout = cout;
  c.k = k;
  c.w = ws.conv(prefix + ".weight", cout, cin, k, k);
  if (bias) c.b = ws.vector(prefix + ".bias", cout);
  return c;
}

Act conv(Graph& g, const ConvW& c, const Tensor& x, int stride) {
  const int p = int(c.k / 2);
  return conv(g, c, x, stride, p, p, p, p);
}

Act conv(Graph& g, const ConvW& c, const Tensor& x, int stride, int pad_top, int pad_left, int pad_bottom,
         int pad_right) {
  const int k = int(c.k);
  const int64_t oh = ops::conv_out_size(int(x.dim(2)), k, stride, pad_top, pad_bottom);
  const int64_t ow = ops::conv_out_size(int(x.dim(3)), k, stride, pad_left, pad_right);
  Act y = g.alloc({x.dim(0), c.cout, oh, ow});
  ops::Conv2dArgs a;
  a.x = x;
  a.w = c.w;
  a.bias = c.b;
  a.y = y;
  a.stride = stride;
  a.pad_top = pad_top;
  a.pad_left = pad_left;
  a.pad_bottom = pad_bottom;
  a.pad_right = pad_right;
  a.w_layout = ops::ConvWeightLayout::OHWI;
  g.conv2d(a);
  return y;
}

NormW load_norm(WeightStore& ws, const std::string& prefix, int64_t channels) {
  return {ws.f32(prefix + ".weight", channels), ws.f32(prefix + ".bias", channels)};
}

Act group_norm(Graph& g, const NormW& n, const Tensor& x, int64_t groups, double eps, bool silu) {
  Act y = g.alloc(x.shape);
  g.group_norm(x, n.gamma, n.beta, y, uint32_t(groups), float(eps), silu);
  return y;
}

Act layer_norm(Graph& g, const NormW& n, const Tensor& x, double eps) {
  Act y = g.alloc(x.shape);
  g.layer_norm(x, n.gamma, n.beta, y, float(eps));
  return y;
}

Act transpose(Graph& g, const Tensor& x) {
  Act y = g.alloc({x.dim(0), x.dim(2), x.dim(1)});
  g.transpose(x, y);
  return y;
}

}  // namespace ezivk::models
