#pragma once
// 2-D convolution, NCHW, any kernel size, stride and (asymmetric) zero padding, as an implicit GEMM.
// The VAE encoder's downsampler (pad right and bottom by 1, then stride 2, pad 0) is pad_bottom = pad_right = 1.
#include <optional>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/coopmat.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// How the weight tensor's elements are ordered. OIHW is the checkpoint's order; OHWI (input channels
// innermost) is what the kernel reads fastest, so model loaders permute once with conv2d_weights_to_ohwi.
enum class ConvWeightLayout { OIHW, OHWI };

struct Conv2dArgs {
  Tensor x;                    // [B, Cin, H, W]
  Tensor w;                    // [Cout, Cin, KH, KW] (OIHW) or [Cout, KH, KW, Cin] (OHWI)
  std::optional<Tensor> bias;  // [Cout]
  Tensor y;                    // [B, Cout, OH, OW]
  int stride = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  ConvWeightLayout w_layout = ConvWeightLayout::OIHW;
  MatmulKernel kernel = MatmulKernel::Auto;
};

// Host-side permutation [Cout, Cin, KH, KW] -> [Cout, KH, KW, Cin].
std::vector<float> conv2d_weights_to_ohwi(const std::vector<float>& w, int cout, int cin, int kh, int kw);

int conv_out_size(int in, int kernel, int stride, int pad_lo, int pad_hi);

void conv2d(gpu::Context& ctx, gpu::Recorder& rec, const Conv2dArgs& args);

struct Conv2dShape {
  int B, Cin, H, W, Cout, KH, KW, stride, pad_top, pad_left, pad_bottom, pad_right;
};
std::vector<float> conv2d_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                              const Conv2dShape& s);

}  // namespace ezivk::ops
