// `ezivk devices [--json]`: the capability report of every Vulkan device.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/gpu/context.h"
#include "engine/gpu/device_report.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {

bool env_validation() {
  const char* v = std::getenv("EZIVK_VALIDATION");
  return v && *v && std::strcmp(v, "0") != 0;
}

int devices(const std::vector<std::string>& args) {
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a == "--help" || a == "-h") {
      std::puts("usage: ezivk devices [--json]\n  Lists every Vulkan device with its capabilities; --json prints one JSON document.");
      return 0;
    } else
      throw UsageError("unknown option '" + a + "' (expected --json)");
  }
  auto devs = gpu::enumerate_devices(env_validation());
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& d : devs) j.push_back(gpu::caps_to_json(d));
    std::puts(nlohmann::json({{"devices", j}}).dump(2).c_str());
    return 0;
  }
  if (devs.empty()) {
    std::puts("no Vulkan devices found");
    return 1;
  }
  for (const auto& d : devs) std::fputs(gpu::caps_to_text(d).c_str(), stdout);
  return 0;
}

}  // namespace ezivk::cli
