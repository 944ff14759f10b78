#include "engine/gpu/private_driver.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>
#include <vulkan/vulkan.h>

#include "engine/util/env.h"
#ifndef EZIVK_PRIVATE_VULKAN_MANIFEST
#define EZIVK_PRIVATE_VULKAN_MANIFEST ""
#endif

namespace ezivk::gpu {
namespace {

// Set in the re-executed process to its pid (exec keeps the pid): a child process sees another pid and
// decides for itself after restoring the variables below.
constexpr const char* kActive = "EZIVK_PRIVATE_VULKAN_ACTIVE";
constexpr const char* kRedirected[] = {"VK_DRIVER_FILES", "VK_ICD_FILENAMES", "VK_LAYER_PATH", "NODEVICE_SELECT"};

std::string g_choice = "system Vulkan driver (select_vulkan_driver was not called)";

std::string manifest_path() {
  if (const char* p = std::getenv("EZIVK_PRIVATE_VULKAN"); p && *p) return p;
  return EZIVK_PRIVATE_VULKAN_MANIFEST;
}

std::map<std::string, std::string> read_manifest(const std::string& path) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

// What the system's own Vulkan driver offers: a GPU, or a CPU driver with cooperative matrices, is better than
// the private lavapipe. Returns the reason to stay, or "" to switch.
std::string system_driver_is_enough() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  if (vkCreateInstance(&ci, nullptr, &inst) != VK_SUCCESS) return "";
  std::string reason;
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  if (n) vkEnumeratePhysicalDevices(inst, &n, pds.data());
  for (VkPhysicalDevice pd : pds) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    if (p.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU) {
      reason = std::string("the system driver has a GPU (") + p.deviceName + ")";
      break;
    }
    uint32_t ne = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, nullptr);
    std::vector<VkExtensionProperties> exts(ne);
    if (ne) vkEnumerateDeviceExtensionProperties(pd, nullptr, &ne, exts.data());
    for (const auto& e : exts)
      if (std::strcmp(e.extensionName, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME) == 0) {
        reason = std::string("the system driver's ") + p.deviceName + " has cooperative matrices";
        break;
      }
    if (!reason.empty()) break;
  }
  vkDestroyInstance(inst, nullptr);
  return reason;
}

std::string saved_name(const char* var) { return std::string("EZIVK_SAVED_") + var; }

// A child of a re-executed process inherits the private driver's variables but runs on the system libc:
// put back what the user had before deciding again.
void restore_user_environment() {
  for (const char* v : kRedirected) {
    const std::string s = saved_name(v);
    if (const char* old = std::getenv(s.c_str()))
      setenv(v, old, 1);
    else
      unsetenv(v);
    unsetenv(s.c_str());
  }
  unsetenv(kActive);
}

}  // namespace

bool on_private_vulkan_driver() {
  const char* a = std::getenv(kActive);
  return a && std::to_string(getpid()) == a;
}

std::string vulkan_driver_choice() { return g_choice; }

void select_vulkan_driver(int argc, char** argv) {
  const std::string path = manifest_path();
  if (on_private_vulkan_driver()) {
    g_choice = "private lavapipe (" + read_manifest(path)["driver_info"] + ", from " + path +
               "); EZIVK_SYSTEM_VULKAN=1 uses the system driver";
    return;
  }
  if (std::getenv(kActive)) restore_user_environment();
  if (env_flag("EZIVK_SYSTEM_VULKAN")) {
    g_choice = "system Vulkan driver (EZIVK_SYSTEM_VULKAN=1)";
    return;
  }
  if (std::getenv("VK_DRIVER_FILES") || std::getenv("VK_ICD_FILENAMES")) {
    g_choice = "system Vulkan loader with the driver chosen by VK_DRIVER_FILES / VK_ICD_FILENAMES";
    return;
  }
  if (path.empty() || access(path.c_str(), R_OK) != 0) {
    g_choice = "system Vulkan driver (no private lavapipe: tools/setup.sh provisions one)";
    return;
  }
  auto m = read_manifest(path);
  for (const char* key : {"loader", "library_path", "icd", "layer_path"})
    if (m[key].empty()) {
      std::fprintf(stderr, "ezivk: warning: %s lacks '%s'; using the system Vulkan driver\n", path.c_str(), key);
      g_choice = "system Vulkan driver (the private lavapipe's manifest is incomplete)";
      return;
    }
  bool has_libc = false;  // the loader is useless without the prefix's libc on its library path
  for (size_t b = 0, e; b <= m["library_path"].size(); b = e + 1) {
    e = m["library_path"].find(':', b);
    if (e == std::string::npos) e = m["library_path"].size();
    has_libc |= access((m["library_path"].substr(b, e - b) + "/libc.so.6").c_str(), R_OK) == 0;
  }
  if (access(m["loader"].c_str(), X_OK) != 0 || access(m["icd"].c_str(), R_OK) != 0 || !has_libc) {
    std::fprintf(stderr, "ezivk: warning: the private lavapipe named by %s is gone (re-run tools/setup.sh); using the system Vulkan driver\n",
                 path.c_str());
    g_choice = "system Vulkan driver (the private lavapipe's files are missing)";
    return;
  }
  if (std::string why = system_driver_is_enough(); !why.empty()) {
    g_choice = "system Vulkan driver (" + why + ")";
    return;
  }

  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    g_choice = "system Vulkan driver (cannot find this program's file to re-execute it)";
    return;
  }
  exe[n] = 0;
  if (std::string(exe).ends_with(" (deleted)")) {
    g_choice = "system Vulkan driver (this program's file was replaced while it ran; cannot re-execute it)";
    return;
  }
  for (const char* v : kRedirected)
    if (const char* old = std::getenv(v)) setenv(saved_name(v).c_str(), old, 1);
  setenv("VK_DRIVER_FILES", m["icd"].c_str(), 1);
  setenv("VK_ICD_FILENAMES", m["icd"].c_str(), 1);
  setenv("VK_LAYER_PATH", m["layer_path"].c_str(), 1);
  // The system Mesa's implicit device-select layer belongs to the system driver; its own switch turns it off
  // silently (VK_LOADER_LAYERS_DISABLE would make the loader warn through every debug messenger).
  setenv("NODEVICE_SELECT", "1", 1);
  setenv(kActive, std::to_string(getpid()).c_str(), 1);

  // --library-path replaces LD_LIBRARY_PATH for this process: keep the user's directories after the prefix's.
  std::string lib_path = m["library_path"];
  if (const char* ld = std::getenv("LD_LIBRARY_PATH"); ld && *ld) lib_path += std::string(":") + ld;
  std::vector<std::string> args = {m["loader"], "--argv0", argc > 0 ? argv[0] : exe, "--library-path", lib_path, exe};
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::fflush(nullptr);
  execv(m["loader"].c_str(), cargs.data());
  // exec failed: undo and stay.
  std::fprintf(stderr, "ezivk: warning: could not start %s (%s); using the system Vulkan driver\n", m["loader"].c_str(), std::strerror(errno));
  restore_user_environment();
  g_choice = "system Vulkan driver (re-executing onto the private lavapipe failed)";
}

}  // namespace ezivk::gpu
