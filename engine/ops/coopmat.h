#pragma once
// When the cooperative-matrix kernels (gemm, conv2d, attention) run, and how they are specialised.
// They are written for any fragment shape the device reports (gpu::pick_coopmat_shape) and a subgroup size
// fixed at pipeline creation; each passes a self-check against the portable kernel before its first
// automatic use on a device (engine/ops/coopmat_check.h).
#include <array>
#include <cstdint>
#include <string>

#include "engine/gpu/context.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// Which kernel a matrix op runs. Auto: the cooperative-matrix one where ctx.coopmat() and its self-check allow,
// else the portable one. Forcing Coopmat on a device that cannot run it is an Error (tests force both).
enum class MatmulKernel { Auto, Portable, Coopmat };

enum class CoopmatKernel { Gemm, Conv2d, Attention };
inline constexpr CoopmatKernel kCoopmatKernels[] = {CoopmatKernel::Gemm, CoopmatKernel::Conv2d, CoopmatKernel::Attention};
const char* coopmat_kernel_name(CoopmatKernel k);  // "gemm", "conv2d", "attention"

// The device can run the cooperative-matrix kernels at all (a usable shape, fp16, a fixed subgroup size).
bool coopmat_possible(const gpu::Context& ctx);
// The automatic choice: ctx.coopmat(), possible, and the kernel's self-check passed (run on first call).
bool coopmat_allowed(gpu::Context& ctx, CoopmatKernel k);
// Auto → coopmat_allowed (fp16 only); Coopmat → true, or an Error from `op` saying why it cannot run; Portable → false.
bool resolve_coopmat(gpu::Context& ctx, CoopmatKernel k, MatmulKernel requested, DType t, const char* op);

// Specialization constants {workgroup size, SG, TM, TN, TK} for a kernel of `subgroups` subgroups.
std::array<uint32_t, 5> coopmat_spec(const gpu::Context& ctx, uint32_t subgroups);
// The storage/accumulator variant of the gemm and conv2d kernels: "f16", or "f16_acc16" for fp16 accumulators.
std::string coopmat_variant(const gpu::Context& ctx);

}  // namespace ezivk::ops
