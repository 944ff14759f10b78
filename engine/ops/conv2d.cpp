#include "engine/ops/conv2d.h"

#include "engine/ops/dispatch_util.h"

namespace ezivk::ops {
namespace {
constexpr uint32_t kWg = 8, kTm = 32, kTn = 16;  // large tiles: see gemm.cpp
}

int conv_out_size(int in, int kernel, int stride, int pad_lo, int pad_hi) {
  return (in + pad_lo + pad_hi - kernel) / stride + 1;
}

void conv2d(gpu::Context& ctx, gpu::Recorder& rec, const Conv2dArgs& c) {
  const char* op = "conv2d";
  if (c.x.rank() != 4) fail("conv2d: x must be [B, Cin, H, W], got " + shape_string(c.x.shape));
  if (c.w.rank() != 4) fail("conv2d: w must be [Cout, Cin, KH, KW], got " + shape_string(c.w.shape));
  const int64_t B = c.x.dim(0), Cin = c.x.dim(1), H = c.x.dim(2), W = c.x.dim(3);
  const bool ohwi = c.w_layout == ConvWeightLayout::OHWI;
  const int64_t Cout = c.w.dim(0), KH = c.w.dim(ohwi ? 1 : 2), KW = c.w.dim(ohwi ? 2 : 3);
  if (c.stride < 1) fail("conv2d: stride must be at least 1");
  if (c.pad_top < 0 || c.pad_left < 0 || c.pad_bottom < 0 || c.pad_right < 0) fail("conv2d: padding must not be negative");
  const int OH = conv_out_size(int(H), int(KH), c.stride, c.pad_top, c.pad_bottom);
  const int OW = conv_out_size(int(W), int(KW), c.stride, c.pad_left, c.pad_right);
  if (OH < 1 || OW < 1) fail("conv2d: the kernel is larger than the padded input " + shape_string(c.x.shape));
  expect_fits(op, "x", c.x);
  if (ohwi)
    expect_shape(op, "w (OHWI)", c.w, {Cout, KH, KW, Cin});
  else
    expect_shape(op, "w", c.w, {Cout, Cin, KH, KW});
  expect_shape(op, "y", c.y, {B, Cout, OH, OW});
  if (c.bias) expect_shape(op, "bias", *c.bias, {Cout});
  expect_dtype(op, "w", c.w, c.x.dtype);
  expect_dtype(op, "y", c.y, c.x.dtype);
  if (c.bias) expect_dtype(op, "bias", *c.bias, c.x.dtype);
  if (B * Cout * OH * OW > 0x7fffffffll || B * Cin * H * W > 0x7fffffffll) fail("conv2d: tensors too large for 32-bit indexing");

  const bool coopmat = resolve_coopmat(ctx, CoopmatKernel::Conv2d, c.kernel, c.x.dtype, op);
  const uint32_t spec[] = {kWg, kTm, kTn};
  const auto spec_cm = coopmat_spec(ctx, 4);
  // fp16 OHWI weights with an even Cin are read two channels per 32-bit load.
  const bool pack = c.x.dtype == DType::F16 && ohwi && Cin % 2 == 0 && c.w.data.offset % 4 == 0;
  const std::string simd = std::string("conv2d/conv2d_simd_") + variant(c.x.dtype) + (pack ? "_pack" : "");
  const auto& p = coopmat ? ctx.pipeline("conv2d/conv2d_coopmat_" + coopmat_variant(ctx), spec_cm) : ctx.pipeline(simd, spec);
  struct {
    uint32_t Cin, H, W, Cout, OH, OW, KH, KW, stride;
    int32_t pad_t, pad_l;
    uint32_t has_bias, w_ci_stride, w_tap_stride;
  } push{uint32_t(Cin), uint32_t(H), uint32_t(W), uint32_t(Cout), uint32_t(OH), uint32_t(OW), uint32_t(KH), uint32_t(KW),
         uint32_t(c.stride), c.pad_top, c.pad_left, c.bias ? 1u : 0u, ohwi ? 1u : uint32_t(KH * KW), ohwi ? uint32_t(Cin) : 1u};
  const gpu::Slice bias = c.bias ? c.bias->data : c.w.data;
  rec.dispatch(p, {{c.x.data, gpu::Access::Read}, {c.w.data, gpu::Access::Read}, {bias, gpu::Access::Read}, {c.y.data, gpu::Access::Write}},
               push, coopmat ? ceil_div(uint64_t(Cout), 64) : ceil_div(uint64_t(Cout), uint64_t(kWg) * kTn),
               coopmat ? ceil_div(uint64_t(OH) * OW, 64) : ceil_div(uint64_t(OH) * OW, kTm), uint32_t(B), "conv2d");
}

std::vector<float> conv2d_weights_to_ohwi(const std::vector<float>& w, int cout, int cin, int kh, int kw) {
  std::vector<float> o(w.size());
  for (int n = 0; n < cout; ++n)
    for (int c = 0; c < cin; ++c)
      for (int t = 0; t < kh * kw; ++t) o[(size_t(n) * kh * kw + t) * cin + c] = w[(size_t(n) * cin + c) * kh * kw + t];
  return o;
}

std::vector<float> conv2d_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                              const Conv2dShape& s) {
  const int OH = conv_out_size(s.H, s.KH, s.stride, s.pad_top, s.pad_bottom);
  const int OW = conv_out_size(s.W, s.KW, s.stride, s.pad_left, s.pad_right);
  std::vector<float> y(size_t(s.B) * s.Cout * OH * OW);
  for (int b = 0; b < s.B; ++b)
    for (int co = 0; co < s.Cout; ++co)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox) {
          double acc = bias.empty() ? 0.0 : bias[co];
          for (int ci = 0; ci < s.Cin; ++ci)
            for (int ky = 0; ky < s.KH; ++ky)
              for (int kx = 0; kx < s.KW; ++kx) {
                const int iy = oy * s.stride - s.pad_top + ky, ix = ox * s.stride - s.pad_left + kx;
                if (iy < 0 || ix < 0 || iy >= s.H || ix >= s.W) continue;
                acc += double(x[((size_t(b) * s.Cin + ci) * s.H + iy) * s.W + ix]) *
                       w[((size_t(co) * s.Cin + ci) * s.KH + ky) * s.KW + kx];
              }
          y[((size_t(b) * s.Cout + co) * OH + oy) * OW + ox] = float(acc);
        }
  return y;
}

}  // namespace ezivk::ops
