// `ezivk devices [--json] [--selfcheck]`: the capability report of every Vulkan device, which driver this
// process runs on, and the cooperative-matrix kernels' shape and self-check verdict per device.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/gpu/context.h"
#include "engine/gpu/device_report.h"
#include "engine/gpu/private_driver.h"
#include "engine/ops/coopmat.h"
#include "engine/ops/coopmat_check.h"
#include "engine/util/env.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {

bool env_validation() { return env_flag("EZIVK_VALIDATION"); }

namespace {

// The cooperative-matrix kernels on one device: the shape they would use, whether they run by default, and the
// self-check verdict (remembered on disk, or run now with --selfcheck).
nlohmann::json coopmat_kernels(const gpu::DeviceCaps& d, bool run_check) {
  nlohmann::json j;
  std::optional<gpu::CoopMatShape> shape;
  try {
    shape = gpu::pick_coopmat_shape(d, std::getenv("EZIVK_COOPMAT_SHAPE") ? std::getenv("EZIVK_COOPMAT_SHAPE") : "");
  } catch (const std::exception& e) {
    j["error"] = e.what();
    return j;
  }
  if (!shape) {
    j["shape"] = nullptr;
    j["use"] = "portable kernels only (no usable fp16 cooperative-matrix shape)";
    return j;
  }
  j["shape"] = gpu::coopmat_shape_name(*shape);
  const bool off = env_flag("EZIVK_NO_COOPMAT") || env_flag("EZIVK_FORCE_FP32");
  j["use"] = off ? "off (EZIVK_NO_COOPMAT / EZIVK_FORCE_FP32)"
             : gpu::coopmat_by_default(d) || env_flag("EZIVK_FORCE_COOPMAT")
                 ? "chosen once their self-check passes"
                 : "not by default on a CPU driver (the portable kernels are faster; EZIVK_FORCE_COOPMAT=1 uses them)";
  std::optional<ops::CoopmatVerdicts> v;
  if (run_check) {
    gpu::ContextOptions o;
    o.device = std::to_string(d.index);
    o.validation = env_validation();
    gpu::Context ctx(o);
    if (ops::coopmat_possible(ctx)) v = ops::coopmat_selfcheck(ctx, false);
  } else {
    v = ops::read_coopmat_verdicts(ops::coopmat_verdict_path(d, *shape, gpu::cache_dir_for("")));
  }
  if (!v) {
    j["selfcheck"] = run_check ? "cannot run here" : "not run yet (runs before first use; `ezivk devices --selfcheck` runs it now)";
    return j;
  }
  nlohmann::json ks = nlohmann::json::array();
  for (const auto& k : v->kernels)
    ks.push_back({{"kernel", k.kernel}, {"verdict", k.ok ? "ok" : k.note.empty() ? "failed" : "not applicable"}, {"error", k.error},
                  {"note", k.note}});
  j["selfcheck"] = {{"kernels", ks}, {"file", v->path}, {"remembered", v->remembered}, {"limit", ops::kCoopmatCheckLimit}};
  return j;
}

std::string coopmat_text(const nlohmann::json& j) {
  if (j.contains("error")) return "    coopmat kernels   " + j["error"].get<std::string>() + "\n";
  std::string s = "    coopmat kernels   ";
  s += j["shape"].is_null() ? "" : j["shape"].get<std::string>() + ": ";
  s += j["use"].get<std::string>() + "\n";
  if (!j.contains("selfcheck")) return s;
  if (j["selfcheck"].is_string()) return s + "    self-check        " + j["selfcheck"].get<std::string>() + "\n";
  s += "    self-check        ";
  bool first = true;
  for (const auto& k : j["selfcheck"]["kernels"]) {
    char e[48];
    std::snprintf(e, sizeof e, " (%.2g)", k["error"].get<double>());
    s += (first ? "" : ", ") + k["kernel"].get<std::string>() + " " + k["verdict"].get<std::string>() +
         (k["verdict"] == "not applicable" ? "" : e);
    first = false;
  }
  const std::string file = j["selfcheck"]["file"];
  if (j["selfcheck"]["remembered"].get<bool>())
    s += ", remembered in " + file + "\n";
  else
    s += std::string(", run now") + (file.empty() ? "" : ", kept in " + file) + "\n";
  return s;
}

}  // namespace

int devices(const std::vector<std::string>& args) {
  bool json = false, selfcheck = false;
  for (const auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a == "--selfcheck")
      selfcheck = true;
    else if (a == "--help" || a == "-h") {
      std::puts(
          "usage: ezivk devices [--json] [--selfcheck]\n"
          "  Lists every Vulkan device with its capabilities, the Vulkan driver this process runs on, and the\n"
          "  cooperative-matrix kernels' shape and self-check verdict; --selfcheck runs the check now on every\n"
          "  device that can; --json prints one JSON document.");
      return 0;
    } else
      throw UsageError("unknown option '" + a + "' (expected --json or --selfcheck)");
  }
  auto devs = gpu::enumerate_devices(env_validation());
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& d : devs) {
      auto dj = gpu::caps_to_json(d);
      dj["coopmat_kernels"] = coopmat_kernels(d, selfcheck);
      j.push_back(std::move(dj));
    }
    std::puts(nlohmann::json({{"vulkan_driver", gpu::vulkan_driver_choice()}, {"devices", j}}).dump(2).c_str());
    return 0;
  }
  std::printf("vulkan driver: %s\n", gpu::vulkan_driver_choice().c_str());
  if (devs.empty()) {
    std::puts("no Vulkan devices found");
    return 1;
  }
  for (const auto& d : devs) {
    std::fputs(gpu::caps_to_text(d).c_str(), stdout);
    std::fputs(coopmat_text(coopmat_kernels(d, selfcheck)).c_str(), stdout);
  }
  return 0;
}

}  // namespace ezivk::cli
