#pragma once
// `ezivk bench soak`: many generations in one process on one device, watching host RSS and the device memory the
// context holds. Both must stay flat after the first runs (pipelines, caches and arenas are built once): growth
// means a leak. The suite runs a 20-generation version (tests/cli/bench_soak_test.cpp).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/gpu/context.h"

namespace ezivk::cli {

struct SoakOptions {
  std::string model;    // a diffusers folder
  std::string adapter;  // EZIGen checkpoint; empty with ezigen: random adapters
  int runs = 1000;
  int steps = 2;
  bool ezigen = false;  // each run is a text-to-image and an EZIGen generation (one round)
};

struct SoakSample {
  int run = 0;                 // 1-based
  uint64_t rss_bytes = 0;      // host resident set after the run
  uint64_t device_bytes = 0;   // device memory held by the context after the run
};

// Runs the generations; `keep(run)` says which runs to sample (the first, the 10th and the last always are).
std::vector<SoakSample> run_soak(gpu::Context& ctx, const SoakOptions& o, const std::function<bool(int)>& keep,
                                 const std::function<void(const SoakSample&)>& on_sample = {});
uint64_t resident_bytes();

int bench_soak(const std::vector<std::string>& args);

}  // namespace ezivk::cli
