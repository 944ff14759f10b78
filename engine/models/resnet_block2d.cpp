#include "engine/models/resnet_block2d.h"

#include "engine/util/error.h"

namespace ezivk::models {

ResnetBlock2D ResnetBlock2D::load(WeightStore& ws, const std::string& prefix, int64_t cin, int64_t cout,
                                  int64_t temb_channels, int64_t groups, double eps) {
  ResnetBlock2D r;
  r.cin = cin;
  r.cout = cout;
  r.groups = groups;
  r.eps = eps;
  r.norm1 = load_norm(ws, prefix + ".norm1", cin);
  r.conv1 = load_conv(ws, prefix + ".conv1", cin, cout, 3);
  if (temb_channels > 0) r.time_emb_proj = load_linear(ws, prefix + ".time_emb_proj", temb_channels, cout);
  r.norm2 = load_norm(ws, prefix + ".norm2", cout);
  r.conv2 = load_conv(ws, prefix + ".conv2", cout, cout, 3);
  if (cin != cout) r.conv_shortcut = load_conv(ws, prefix + ".conv_shortcut", cin, cout, 1);
  return r;
}

Act ResnetBlock2D::forward(Graph& g, const Tensor& x, const Tensor* temb_silu) const {
  const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3);
  Act h;
  {
    Act n1 = group_norm(g, norm1, x, groups, eps, true);  // [B, cin, H, W]
    h = conv(g, conv1, n1);                               // [B, cout, H, W]
  }
  if (time_emb_proj) {
    if (!temb_silu) fail("ResnetBlock2D: this block has time_emb_proj but was given no time embedding");
    Act t = linear(g, *time_emb_proj, *temb_silu);  // [B, cout]
    g.add(h, t, h, ops::AddLayout::per_channel(B, cout, H * W));
  }
  Act out;
  {
    Act n2 = group_norm(g, norm2, h, groups, eps, true);
    h.reset();
    out = conv(g, conv2, n2);  // [B, cout, H, W]
  }
  if (conv_shortcut) {
    Act s = conv(g, *conv_shortcut, x);
    g.add(out, s, out);
  } else {
    g.add(out, x, out);
  }
  return out;
}

}  // namespace ezivk::models
