#include "engine/ops/activation.h"

#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "activation";
constexpr uint32_t kWg = 256;
}  // namespace

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::SiLU:
      return "silu";
    case Activation::GELU:
      return "gelu";
    case Activation::QuickGELU:
      return "quick_gelu";
  }
  return "?";
}

void activation(gpu::Context& ctx, gpu::Recorder& rec, Activation kind, const Tensor& x, const Tensor& y) {
  if (kind != Activation::SiLU && kind != Activation::GELU && kind != Activation::QuickGELU)
    fail(std::string(kOp) + ": unknown activation " + std::to_string(uint32_t(kind)));
  expect_usable(ctx, kOp, "x", x);
  expect_same_layout_output(ctx, kOp, x, y);

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("activation/activation_") + variant(x.dtype), spec);
  struct {
    uint32_t n, kind;
  } push{uint32_t(x.numel()), uint32_t(kind)};
  const Grid g = grid_1d(ctx, uint64_t(x.numel()), kWg);
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, activation_name(kind));
}

double activation_ref(Activation kind, double x) {
  switch (kind) {
    case Activation::SiLU:
      return x / (1.0 + std::exp(-x));
    case Activation::GELU:
      return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case Activation::QuickGELU:
      return x / (1.0 + std::exp(-1.702 * x));
  }
  return 0;
}

std::vector<float> activation_ref(Activation kind, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = float(activation_ref(kind, x[i]));
  return y;
}

}  // namespace ezivk::ops
