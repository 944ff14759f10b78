#include "engine/ops/sched_step.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "sched_step";
constexpr uint32_t kWg = 256;
constexpr size_t kMaxSlots = kStepMaxHistory, kHist = kStepHistoryAt, kNWrites = kStepWriteCountAt, kWrites = kStepWritesAt;
}  // namespace

void sched_step(gpu::Context& ctx, gpu::Recorder& rec, const SchedStepArgs& a) {
  const int64_t n = a.x.numel();
  expect_dtype(kOp, "x", a.x, DType::F32);
  expect_usable(ctx, kOp, "x", a.x);
  expect_usable(ctx, kOp, "model_out", a.model_out);
  if (a.model_out.numel() != (a.guided ? 2 * n : n))
    fail(std::string(kOp) + ": model_out must hold " + std::to_string(a.guided ? 2 * n : n) + " elements (" +
         (a.guided ? "uncond and cond halves" : "one per latent element") + "), got " + shape_string(a.model_out.shape));
  auto same = [&](const char* what, const Tensor& t) {
    expect_dtype(kOp, what, t, DType::F32);
    expect_usable(ctx, kOp, what, t);
    if (t.numel() != n) fail(std::string(kOp) + ": " + what + " must have the latent's " + std::to_string(n) + " elements, got " + shape_string(t.shape));
  };
  same("x0", a.x0);
  if (a.noise) same("noise", *a.noise);
  uint32_t slots = 0;
  if (a.history) {
    expect_dtype(kOp, "history", *a.history, DType::F32);
    expect_usable(ctx, kOp, "history", *a.history);
    if (a.history->numel() % n || a.history->numel() / n > int64_t(kMaxSlots))
      fail(std::string(kOp) + ": history must be [slots ≤ 8, latent...], got " + shape_string(a.history->shape));
    slots = uint32_t(a.history->numel() / n);
  }
  expect_dtype(kOp, "coefficients", a.coefficients, DType::F32);
  expect_usable(ctx, kOp, "coefficients", a.coefficients);
  if (a.coefficients.numel() != int64_t(kStepCoefficientFloats))
    fail(std::string(kOp) + ": coefficients must be [40] (pack_step_coefficients), got " + shape_string(a.coefficients.shape));
  expect_disjoint(kOp, "x", a.x, "model_out", a.model_out);
  expect_disjoint(kOp, "x0", a.x0, "x", a.x);
  if (!std::isfinite(a.guidance)) fail(std::string(kOp) + ": guidance must be finite");

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("sched_step/step_") + variant(a.model_out.dtype), spec);
  struct {
    uint32_t n, guided;
    float guidance;
    uint32_t slots, has_noise;
  } push{uint32_t(n), a.guided ? 1u : 0u, a.guidance, slots, a.noise ? 1u : 0u};
  // Absent operands are bound to a buffer the shader then never touches: the noise (declared readonly in the
  // shader) to the coefficient block, the history (read-write in the shader, so validation counts it as written)
  // to x0, which this dispatch writes anyway — declared accesses stay true to what the shader could do.
  const gpu::Bind noise = a.noise ? bind(*a.noise, gpu::Access::Read) : bind(a.coefficients, gpu::Access::Read);
  const gpu::Bind hist = a.history ? bind(*a.history, gpu::Access::ReadWrite) : bind(a.x0, gpu::Access::ReadWrite);
  const Grid g = grid_1d(ctx, uint64_t(n), kWg);
  rec.dispatch(pl,
               {bind(a.x, gpu::Access::ReadWrite), bind(a.model_out, gpu::Access::Read), noise, hist,
                bind(a.x0, gpu::Access::Write), bind(a.coefficients, gpu::Access::Read)},
               push, g.x, g.y, 1, kOp);
}

void sched_model_input(gpu::Context& ctx, gpu::Recorder& rec, const Tensor& x, const Tensor& y, float scale) {
  constexpr const char* op = "sched_model_input";
  expect_dtype(op, "x", x, DType::F32);
  expect_usable(ctx, op, "x", x);
  expect_usable(ctx, op, "y", y);
  if (x.numel() == 0 || y.numel() % x.numel())
    fail(std::string(op) + ": y " + shape_string(y.shape) + " must hold whole copies of x " + shape_string(x.shape));
  expect_disjoint(op, "y", y, "x", x);
  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("sched_step/model_input_") + variant(y.dtype), spec);
  struct {
    uint32_t n, total;
    float scale;
  } push{uint32_t(x.numel()), uint32_t(y.numel()), scale};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {bind(x, gpu::Access::Read), bind(y, gpu::Access::Write)}, push, g.x, g.y, 1, op);
}

std::vector<float> sched_step_ref(const std::vector<float>& x, const std::vector<float>& model_out, bool guided,
                                  float guidance, const std::vector<float>* noise, std::vector<float>* history,
                                  const std::vector<float>& c, std::vector<float>& x0) {
  const size_t n = x.size();
  const size_t slots = history ? history->size() / n : 0;
  std::vector<float> next(n);
  x0.assign(n, 0.f);
  for (size_t i = 0; i < n; ++i) {
    const double xi = x[i];
    const double mi = guided ? double(model_out[i]) + double(guidance) * (double(model_out[n + i]) - model_out[i])
                             : double(model_out[i]);
    double pred = c[0] * xi + c[1] * mi;
    if (c[2] != 0.f) pred = std::clamp(pred, -double(c[3]), double(c[3]));
    double v = c[4] * xi + c[5] * mi + c[6] * pred;
    if (noise) v += c[7] * double((*noise)[i]);
    for (size_t j = 0; j < slots; ++j) v += double(c[kHist + j]) * (*history)[j * n + i];
    for (size_t w = 0; w < size_t(c[kNWrites]); ++w) {
      const size_t slot = size_t(c[kWrites + 4 * w]);
      if (slot < slots)
        (*history)[slot * n + i] = float(c[kWrites + 4 * w + 1] * xi + c[kWrites + 4 * w + 2] * mi + c[kWrites + 4 * w + 3] * pred);
    }
    next[i] = float(v);
    x0[i] = float(pred);
  }
  return next;
}

}  // namespace ezivk::ops
