#include "engine/ops/coopmat.h"

#include "engine/util/error.h"
#include "engine/ops/coopmat_check.h"

namespace ezivk::ops {

const char* coopmat_kernel_name(CoopmatKernel k) {
  switch (k) {
    case CoopmatKernel::Gemm: return "gemm";
    case CoopmatKernel::Conv2d: return "conv2d";
    case CoopmatKernel::Attention: return "attention";
  }
  return "?";
}

bool coopmat_possible(const gpu::Context& ctx) {
  const auto& c = ctx.caps();
  // The shape is only set when the device's cooperative-matrix feature was enabled.
  return ctx.coopmat_shape().m != 0 && ctx.fp16() && c.min_subgroup_size == c.max_subgroup_size &&
         4 * c.subgroup_size <= c.max_workgroup_invocations;
}

bool coopmat_allowed(gpu::Context& ctx, CoopmatKernel k) {
  if (!ctx.coopmat() || !coopmat_possible(ctx)) return false;
  if (!ctx.coopmat_selfcheck()) return true;
  const std::string name = coopmat_kernel_name(k);
  if (auto v = ctx.coopmat_verdict(name)) return *v;
  coopmat_selfcheck(ctx);
  return ctx.coopmat_verdict(name).value_or(false);
}

bool resolve_coopmat(gpu::Context& ctx, CoopmatKernel k, MatmulKernel requested, DType t, const char* op) {
  switch (requested) {
    case MatmulKernel::Portable: return false;
    case MatmulKernel::Auto: return t == DType::F16 && coopmat_allowed(ctx, k);
    case MatmulKernel::Coopmat:
      if (t != DType::F16) fail(std::string(op) + ": the cooperative-matrix kernel takes f16 tensors");
      if (!coopmat_possible(ctx))
        fail(std::string(op) + ": the cooperative-matrix kernel needs VK_KHR_cooperative_matrix with an fp16 subgroup shape "
             "whose M, N, K divide 32, fp16 support and a fixed subgroup size; '" + ctx.caps().name + "' lacks them" +
             (ctx.fp16() ? "" : " (or fp16 is switched off)"));
      return true;
  }
  return false;
}

std::array<uint32_t, 5> coopmat_spec(const gpu::Context& ctx, uint32_t subgroups) {
  const auto& s = ctx.coopmat_shape();
  const uint32_t sg = ctx.caps().subgroup_size;
  return {subgroups * sg, sg, s.m, s.n, s.k};
}

std::string coopmat_variant(const gpu::Context& ctx) {
  return ctx.coopmat_shape().result == gpu::ScalarType::F16 ? "f16_acc16" : "f16";
}

}  // namespace ezivk::ops
