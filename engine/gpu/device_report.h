#pragma once
// Human and JSON descriptions of DeviceCaps, for `ezivk devices` and benchmark headers.
#include <nlohmann/json.hpp>
#include <string>

#include "engine/gpu/device_caps.h"

namespace ezivk::gpu {

nlohmann::json caps_to_json(const DeviceCaps& c);
std::string caps_to_text(const DeviceCaps& c);

}  // namespace ezivk::gpu
