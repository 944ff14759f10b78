#pragma once
// Errors: every failure becomes one ezivk::Error with a sentence that names what failed and why. Host-only
// code (io, sched, util, models' configs) uses this header; Vulkan result codes are in engine/gpu/error.h.
#include <stdexcept>
#include <string>

namespace ezivk {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& message);

}  // namespace ezivk
