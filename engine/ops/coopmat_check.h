#pragma once
// The self-check that guards the cooperative-matrix kernels on devices no test has seen: before a kernel's
// first automatic use on a device, it runs on a small seeded random problem (odd sizes, so edge tiles count)
// against the portable kernel. A kernel that disagrees is not used on that device: the engine warns once and
// falls back to the portable kernel. Verdicts are kept in the context and remembered on disk, in the pipeline
// cache folder, per device, driver version, fragment shape and build of the kernels, so the check runs once.
#include <optional>
#include <string>
#include <vector>

#include "engine/gpu/context.h"

namespace ezivk::ops {

struct CoopmatKernelVerdict {
  std::string kernel;  // "gemm", "conv2d", "attention"
  bool ok = false;
  double error = 0;    // max |coopmat − portable| / max |portable|; the limit is kCoopmatCheckLimit
  std::string note;    // why it did not run ("needs D = 64 …") when not applicable
};

struct CoopmatVerdicts {
  std::vector<CoopmatKernelVerdict> kernels;
  bool remembered = false;  // read from `path` rather than computed now
  std::string path;         // the verdict file ("" when the cache is disabled)
};

constexpr double kCoopmatCheckLimit = 1e-2;

// Runs the check for every cooperative-matrix kernel this device can run (or reads the remembered verdicts),
// records them in ctx and on disk, and warns once per process about a failing kernel. Needs coopmat_possible.
CoopmatVerdicts coopmat_selfcheck(gpu::Context& ctx, bool use_remembered = true);

// The verdict file for a device under a cache folder, and what it holds (nullopt: no file, or unreadable).
std::string coopmat_verdict_path(const gpu::DeviceCaps& caps, const gpu::CoopMatShape& shape, const std::string& cache_dir);
std::optional<CoopmatVerdicts> read_coopmat_verdicts(const std::string& path);

// Test hook: makes the named kernel's check see a corrupted result, as a broken driver would produce.
void set_coopmat_check_fault(const std::string& kernel);

}  // namespace ezivk::ops
