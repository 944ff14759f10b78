#include "engine/gpu/context.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/error.h"
#include "engine/gpu/queue_plan.h"
#include "engine/util/env.h"
#include "engine/util/fault_injection.h"

namespace ezivk::gpu {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool layer_available(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

bool instance_extension_available(const char* name, const char* layer = nullptr) {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(layer, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateInstanceExtensionProperties(layer, &n, exts.data());
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                             void* user) {
  if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
  std::string m = std::string(severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error: " : "warning: ") +
                  (data && data->pMessage ? data->pMessage : "(no text)");
  std::fprintf(stderr, "[vulkan validation] %s\n", m.c_str());
  static_cast<Context*>(user)->add_validation_message(std::move(m));
  return VK_FALSE;
}

struct InstanceBundle {
  Handle<VkInstance> instance;
  Handle<VkDebugUtilsMessengerEXT> messenger;
};

InstanceBundle make_instance(bool validation, bool sync_validation, Context* owner,
                             const std::vector<std::string>& extra_extensions = {}) {
  InstanceBundle b;
  if (validation && !layer_available(kValidationLayer))
    fail("Vulkan validation was requested but VK_LAYER_KHRONOS_validation is not installed (Debian: vulkan-validationlayers)");
  uint32_t loader_version = VK_API_VERSION_1_0;
  vkEnumerateInstanceVersion(&loader_version);
  if (loader_version < VK_API_VERSION_1_2)
    fail("the Vulkan loader supports only Vulkan " + version_string(loader_version) + "; ezivk needs 1.2 or newer");

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "ezivk";
  app.pEngineName = "ezivk";
  app.apiVersion = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

  std::vector<const char*> layers, exts;
  if (validation) {
    layers.push_back(kValidationLayer);
    exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT vf{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  vf.enabledValidationFeatureCount = 1;
  vf.pEnabledValidationFeatures = &sync;
  // Newer layers (1.4.309, the private prefix's) take the switch as a layer setting and no longer act on the
  // validation-features struct; older ones (Debian 12's 1.3.239) know only the struct.
  const bool use_settings = validation && sync_validation &&
                            instance_extension_available(VK_EXT_LAYER_SETTINGS_EXTENSION_NAME, kValidationLayer);
  const bool use_vf = validation && sync_validation && !use_settings &&
                      instance_extension_available(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME, kValidationLayer);
  if (use_vf) exts.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  if (use_settings) exts.push_back(VK_EXT_LAYER_SETTINGS_EXTENSION_NAME);
  for (const auto& e : extra_extensions) {
    if (!instance_extension_available(e.c_str()))
      fail("the Vulkan instance lacks the extension " + e + ", which was asked for (is a window system available?)");
    if (std::none_of(exts.begin(), exts.end(), [&](const char* x) { return e == x; })) exts.push_back(e.c_str());
  }
  const VkBool32 on = VK_TRUE;
  VkLayerSettingEXT sync_setting{kValidationLayer, "validate_sync", VK_LAYER_SETTING_TYPE_BOOL32_EXT, 1, &on};
  VkLayerSettingsCreateInfoEXT settings{VK_STRUCTURE_TYPE_LAYER_SETTINGS_CREATE_INFO_EXT};
  settings.settingCount = 1;
  settings.pSettings = &sync_setting;

  VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                   VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  mi.pfnUserCallback = on_validation;
  mi.pUserData = owner;
  if (use_vf) mi.pNext = &vf;

  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(exts.size());
  ci.ppEnabledExtensionNames = exts.data();
  // Chaining the messenger info also reports messages from vkCreateInstance itself.
  if (validation && owner) ci.pNext = &mi;
  if (use_settings) {
    settings.pNext = ci.pNext;
    ci.pNext = &settings;
  }
  VkInstance inst = VK_NULL_HANDLE;
  VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    fail("no Vulkan driver was found (install a GPU driver, or Mesa's lavapipe: mesa-vulkan-drivers)");
  vk_check(r, "creating the Vulkan instance");
  b.instance = Handle<VkInstance>(inst, [](VkInstance i) { vkDestroyInstance(i, nullptr); });

  if (validation && owner) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(inst, "vkCreateDebugUtilsMessengerEXT"));
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(inst, "vkDestroyDebugUtilsMessengerEXT"));
    if (!create || !destroy) fail("the validation layer lacks VK_EXT_debug_utils");
    mi.pNext = nullptr;
    VkDebugUtilsMessengerEXT m;
    vk_check(create(inst, &mi, nullptr, &m), "creating the validation messenger");
    b.messenger = Handle<VkDebugUtilsMessengerEXT>(m, [inst, destroy](VkDebugUtilsMessengerEXT h) { destroy(inst, h, nullptr); });
  }
  return b;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  uint32_t n = 0;
  vk_check(vkEnumeratePhysicalDevices(inst, &n, nullptr), "listing Vulkan devices");
  std::vector<VkPhysicalDevice> pds(n);
  vk_check(vkEnumeratePhysicalDevices(inst, &n, pds.data()), "listing Vulkan devices");
  return pds;
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

// `caps`: the device's, whose queue families query_caps read.
std::optional<QueuePlan> plan_for(VkInstance inst, VkPhysicalDevice pd, const DeviceCaps& caps,
                                  const std::function<bool(VkInstance, VkPhysicalDevice, uint32_t)>& ok, bool second) {
  std::function<bool(uint32_t)> cond;
  if (ok) cond = [&](uint32_t i) { return ok(inst, pd, i); };
  return plan_queues(caps.queue_families, cond, second);
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<DeviceCaps> enumerate_devices(bool validation) {
  InstanceBundle b = make_instance(validation, false, nullptr);
  std::vector<DeviceCaps> out;
  auto pds = physical_devices(b.instance.get());
  for (uint32_t i = 0; i < pds.size(); ++i) out.push_back(query_caps(b.instance.get(), pds[i], i));
  return out;
}

namespace {

// "134217728", "128M", "64K", "1G": a positive byte count (binary suffixes).
uint64_t parse_byte_size(const char* what, const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string suffix = text.substr(digits);
  int shift = -1;
  if (suffix.empty()) shift = 0;
  else if (suffix == "K" || suffix == "k") shift = 10;
  else if (suffix == "M" || suffix == "m") shift = 20;
  else if (suffix == "G" || suffix == "g") shift = 30;
  uint64_t v = 0;
  bool ok = digits > 0 && digits <= 12 && shift >= 0;
  for (size_t i = 0; ok && i < digits; ++i) v = v * 10 + uint64_t(text[i] - '0');
  if (!ok || v == 0 || v > (uint64_t(1) << (62 - shift)))
    fail(std::string(what) + "='" + text + "' is not a byte count (digits with an optional K, M or G suffix)");
  return v << shift;
}

}  // namespace

Context::Context(ContextOptions options) : opt_(std::move(options)) {
  if (env_flag("EZIVK_FORCE_FP32")) opt_.force_fp32 = true;
  if (env_flag("EZIVK_NO_COOPMAT")) opt_.no_coopmat = true;
  if (env_flag("EZIVK_FORCE_COOPMAT")) opt_.force_coopmat = true;
  if (const char* s = std::getenv("EZIVK_COOPMAT_SHAPE"); s && *s && opt_.coopmat_shape.empty()) opt_.coopmat_shape = s;
  if (opt_.device.empty())
    if (const char* d = std::getenv("EZIVK_DEVICE")) opt_.device = d;
  if (const char* t = std::getenv("EZIVK_TIMEOUT_S")) {
    char* end = nullptr;
    double v = std::strtod(t, &end);
    if (!end || *end || !(v > 0)) fail(std::string("EZIVK_TIMEOUT_S='") + t + "' is not a positive number of seconds");
    timeout_s_ = v;
  }
  if (const char* n = std::getenv("EZIVK_SUBMIT_EVERY"); n && *n && !opt_.submit_every) {
    char* end = nullptr;
    const long v = std::strtol(n, &end, 10);
    if (!end || *end || *n < '0' || *n > '9' || v < 1 || v > 1000000)
      fail(std::string("EZIVK_SUBMIT_EVERY='") + n + "' is not a number of commands from 1 to 1000000");
    opt_.submit_every = uint32_t(v);
  }
  if (const char* r = std::getenv("EZIVK_MAX_STORAGE_RANGE"); r && *r && !opt_.max_storage_range)
    opt_.max_storage_range = parse_byte_size("EZIVK_MAX_STORAGE_RANGE", r);
  create_instance();
  pick_device();
  create_device();
  load_pipeline_cache();
}

Context::~Context() {
  try {
    save_pipeline_cache();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ezivk: warning: %s\n", e.what());
  }
  if (device_) vkDeviceWaitIdle(device_.get());
  // Members holding device objects must go before the device itself.
  staging_.reset();
  pipelines_.clear();
  pipeline_cache_.reset();
  pool_.reset();
  device_.reset();
  messenger_.reset();
  instance_.reset();
}

void Context::create_instance() {
  InstanceBundle b = make_instance(opt_.validation, opt_.sync_validation, this, opt_.instance_extensions);
  instance_ = std::move(b.instance);
  messenger_ = std::move(b.messenger);
}

void Context::pick_device() {
  auto pds = physical_devices(instance_.get());
  if (pds.empty()) fail("no Vulkan device was found (install a GPU driver, or Mesa's lavapipe: mesa-vulkan-drivers)");
  std::vector<DeviceCaps> all;
  for (uint32_t i = 0; i < pds.size(); ++i) all.push_back(query_caps(instance_.get(), pds[i], i));

  int chosen = -1;
  const std::string& want = opt_.device;
  // What the caller needs (a window's extensions and a queue that presents): checked on a named device, required of
  // an automatically chosen one.
  auto missing = [&](uint32_t i) -> std::string {
    for (const auto& e : opt_.device_extensions)
      if (!has_extension(pds[i], e.c_str())) return "lacks the device extension " + e;
    if (opt_.queue_family_ok && !plan_for(instance_.get(), pds[i], all[i], opt_.queue_family_ok, false))
      return "has no queue family that computes and meets the caller's condition (presentation to the window)";
    return {};
  };
  if (!want.empty()) {
    bool numeric = std::all_of(want.begin(), want.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (numeric) {
      unsigned long idx = std::stoul(want);
      if (idx >= pds.size())
        fail("device index " + want + " does not exist: there are " + std::to_string(pds.size()) + " Vulkan devices (see `ezivk devices`)");
      chosen = int(idx);
    } else {
      for (uint32_t i = 0; i < all.size(); ++i)
        if (lower(all[i].name).find(lower(want)) != std::string::npos) {
          chosen = int(i);
          break;
        }
      if (chosen < 0) fail("no Vulkan device's name contains '" + want + "' (see `ezivk devices`)");
    }
  } else {
    std::string why;
    for (uint32_t i = 0; i < all.size(); ++i) {
      if (all[i].api_version < VK_API_VERSION_1_2) continue;
      if (const std::string m = missing(i); !m.empty()) {
        why += "; '" + all[i].name + "' " + m;
        continue;
      }
      if (chosen < 0 || type_rank(all[i].type) < type_rank(all[size_t(chosen)].type)) chosen = int(i);
    }
    if (chosen < 0) fail("no Vulkan device supports Vulkan 1.2 and what was asked for" + why);
  }
  if (const std::string m = missing(uint32_t(chosen)); !m.empty()) fail("device '" + all[size_t(chosen)].name + "' " + m);
  if (all[size_t(chosen)].api_version < VK_API_VERSION_1_2)
    fail("device '" + all[size_t(chosen)].name + "' supports only Vulkan " + version_string(all[size_t(chosen)].api_version) +
         "; ezivk needs 1.2 or newer");
  physical_ = pds[size_t(chosen)];
  caps_ = all[size_t(chosen)];
  if (opt_.max_storage_range) {
    if (opt_.max_storage_range < 4096)
      fail("max_storage_range (EZIVK_MAX_STORAGE_RANGE) must be at least 4096 bytes, got " +
           std::to_string(opt_.max_storage_range));
    caps_.max_storage_buffer_range = std::min(caps_.max_storage_buffer_range, opt_.max_storage_range);
  }
}

void Context::create_device() {
  const auto plan = plan_for(instance_.get(), physical_, caps_, opt_.queue_family_ok, opt_.ui_queue);
  if (!plan) fail("device '" + caps_.name + "' has no compute queue");
  queue_family_ = plan->family;

  // Only chain structures the device's API version or extension list covers: older validation layers
  // complain about the rest.
  const bool v13 = caps_.api_version >= VK_API_VERSION_1_3;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR fcm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  VkPhysicalDeviceFeatures2 q{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  q.pNext = &f11;
  f11.pNext = &f12;
  void** tail = &f12.pNext;
  if (v13) {
    *tail = &f13;
    tail = &f13.pNext;
  }
  if (caps_.has_coopmat_extension) {
    *tail = &fcm;
    tail = &fcm.pNext;
  }
  vkGetPhysicalDeviceFeatures2(physical_, &q);

  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan13Features e13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR ecm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  VkPhysicalDeviceFeatures2 en{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  en.features.shaderInt16 = q.features.shaderInt16;
  en.features.shaderInt64 = q.features.shaderInt64;
  e11.storageBuffer16BitAccess = f11.storageBuffer16BitAccess;
  e12.shaderFloat16 = f12.shaderFloat16;
  e12.shaderInt8 = f12.shaderInt8;
  e12.storageBuffer8BitAccess = f12.storageBuffer8BitAccess;
  e12.vulkanMemoryModel = f12.vulkanMemoryModel;
  e12.vulkanMemoryModelDeviceScope = f12.vulkanMemoryModelDeviceScope;
  // Required of every Vulkan 1.2 device; the viewer orders reuse of its preview slots after its frames with one.
  e12.timelineSemaphore = f12.timelineSemaphore;
  e13.subgroupSizeControl = f13.subgroupSizeControl;
  e13.computeFullSubgroups = f13.computeFullSubgroups;
  std::vector<const char*> exts;
  for (const auto& e : opt_.device_extensions) exts.push_back(e.c_str());
  const bool coopmat_ok = caps_.has_coopmat_extension && fcm.cooperativeMatrix && f12.vulkanMemoryModel;
  if (coopmat_ok) {
    ecm.cooperativeMatrix = VK_TRUE;
    exts.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  }
  en.pNext = &e11;
  e11.pNext = &e12;
  tail = &e12.pNext;
  if (v13) {
    *tail = &e13;
    tail = &e13.pNext;
  }
  if (coopmat_ok) {
    *tail = &ecm;
    tail = &ecm.pNext;
  }

  const float prio[2] = {1.0f, 1.0f};
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = queue_family_;
  qi.queueCount = plan->count;
  qi.pQueuePriorities = prio;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.pNext = &en;
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = uint32_t(exts.size());
  di.ppEnabledExtensionNames = exts.data();
  VkDevice dev;
  vk_check(vkCreateDevice(physical_, &di, nullptr, &dev), ("creating a logical device on '" + caps_.name + "'").c_str());
  device_ = Handle<VkDevice>(dev, [](VkDevice d) { vkDestroyDevice(d, nullptr); });
  vkGetDeviceQueue(dev, queue_family_, 0, &queue_);
  if (plan->count > 1) vkGetDeviceQueue(dev, queue_family_, 1, &ui_queue_);

  fp16_ = !opt_.force_fp32 && f12.shaderFloat16 && f11.storageBuffer16BitAccess;
  // With cooperative matrices switched off, a shape asked for by name is not an error (it would not be used).
  const auto shape = coopmat_ok ? pick_coopmat_shape(caps_, opt_.no_coopmat ? "" : opt_.coopmat_shape) : std::nullopt;
  if (shape) coopmat_shape_ = *shape;
  const bool wanted = opt_.force_coopmat || coopmat_by_default(caps_);
  coopmat_ = !opt_.no_coopmat && wanted && fp16_ && shape.has_value() && f12.vulkanMemoryModel;
  storage_alignment_ = uint32_t(std::max<uint64_t>(16, caps_.min_storage_offset_alignment));

  pool_ = make_command_pool(dev, queue_family_, "transfers");
}

std::string cache_dir_for(const std::string& configured) {
  std::string dir = configured;
  if (dir.empty()) {
    if (const char* d = std::getenv("EZIVK_CACHE_DIR"))
      dir = d;
    else if (const char* x = std::getenv("XDG_CACHE_HOME"))
      dir = std::string(x) + "/ezivk";
    else if (const char* h = std::getenv("HOME"))
      dir = std::string(h) + "/.cache/ezivk";
  }
  return dir == "-" ? "" : dir;
}

bool coopmat_by_default(const DeviceCaps& caps) { return caps.type != VK_PHYSICAL_DEVICE_TYPE_CPU; }

void Context::load_pipeline_cache() {
  const std::string dir = cache_dir_ = cache_dir_for(opt_.cache_dir);
  std::vector<char> data;
  if (!dir.empty()) {
    // A folder the user named (the option or EZIVK_CACHE_DIR) must be usable: silently ignoring it would hide a
    // typo behind slower starts. The default folder may be unusable (a read-only home): then there is no cache.
    const bool named = !opt_.cache_dir.empty() || std::getenv("EZIVK_CACHE_DIR");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string probe = dir + "/.probe" + std::to_string(reinterpret_cast<uintptr_t>(this));
    bool usable = std::filesystem::is_directory(dir, ec);
    if (usable) {
      std::ofstream f(probe);
      usable = bool(f);
    }
    std::filesystem::remove(probe, ec);
    if (!usable) {
      if (named)
        throw Error("EZIVK_CACHE_DIR / cache folder '" + dir +
                    "' is not a folder ezivk can create files in; name a writable folder, or '-' for no cache");
      cache_dir_.clear();
      return load_empty_pipeline_cache();
    }
    char uuid[2 * VK_UUID_SIZE + 1];
    for (uint32_t i = 0; i < VK_UUID_SIZE; ++i) std::snprintf(uuid + 2 * i, 3, "%02x", caps_.pipeline_cache_uuid[i]);
    cache_path_ = dir + "/pipelines-" + uuid + ".bin";
    std::ifstream f(cache_path_, std::ios::binary);
    if (f) data.assign(std::istreambuf_iterator<char>(f), {});
    // The driver validates the header against its own UUID too; an alien or damaged file is simply ignored.
    if (data.size() < 16 + VK_UUID_SIZE || std::memcmp(data.data() + 16, caps_.pipeline_cache_uuid, VK_UUID_SIZE) != 0)
      data.clear();
  }
  create_pipeline_cache(data);
}

void Context::load_empty_pipeline_cache() { create_pipeline_cache({}); }

void Context::create_pipeline_cache(const std::vector<char>& data) {
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  VkPipelineCache c;
  VkDevice dev = device_.get();
  vk_check(vkCreatePipelineCache(dev, &ci, nullptr, &c), "creating the pipeline cache");
  pipeline_cache_ = Handle<VkPipelineCache>(c, [dev](VkPipelineCache h) { vkDestroyPipelineCache(dev, h, nullptr); });
}

void Context::save_pipeline_cache() const {
  if (cache_path_.empty() || !pipeline_cache_) return;
  size_t n = 0;
  vk_check(vkGetPipelineCacheData(device_.get(), pipeline_cache_.get(), &n, nullptr), "reading the pipeline cache");
  std::vector<char> data(n);
  vk_check(vkGetPipelineCacheData(device_.get(), pipeline_cache_.get(), &n, data.data()), "reading the pipeline cache");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path(), ec);
  if (ec) return;  // a read-only home only costs pipeline build time next run
  const std::string tmp = cache_path_ + ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;
    f.write(data.data(), std::streamsize(n));
    if (!f) {
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, cache_path_, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

const Pipeline& Context::pipeline(std::string_view shader, std::span<const uint32_t> spec) {
  std::string key(shader);
  for (uint32_t v : spec) key += ":" + std::to_string(v);
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return *it->second;
  auto p = std::make_unique<Pipeline>(*this, pipeline_cache_.get(), std::string(shader), spec);
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

void Context::submit_and_wait(VkCommandBuffer cb, double timeout_s) const {
  VkDevice dev = device_.get();
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence f;
  vk_check(vkCreateFence(dev, &fi, nullptr, &f), "creating a fence");
  Handle<VkFence> fence(f, [dev](VkFence h) { vkDestroyFence(dev, h, nullptr); });
  try {
    submit_and_wait(cb, f, timeout_s);
  } catch (...) {
    // The queue may still signal the fence: leak it rather than wait on work that may never end.
    if (vkGetFenceStatus(dev, f) == VK_NOT_READY) fence.release();
    throw;
  }
}

void Context::submit(VkCommandBuffer cb, VkFence f) const {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  if (faults::should_fail(faults::Kind::Submit)) vk_check(VK_ERROR_DEVICE_LOST, "submitting GPU work");
  const auto lock = queue_lock();
  vk_check(vkQueueSubmit(queue_, 1, &si, f), "submitting GPU work");
}

void Context::wait(VkFence f, double timeout_s) const {
  VkDevice dev = device_.get();
  const uint64_t ns = timeout_s >= 1e9 ? UINT64_MAX : uint64_t(timeout_s * 1e9);
  // An injected hang waits on a fence nothing will signal, so the timeout path runs for real.
  VkFence wait_on = f;
  Handle<VkFence> never;
  if (faults::should_fail(faults::Kind::Hang)) {
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence h;
    vk_check(vkCreateFence(dev, &fi, nullptr, &h), "creating a fence");
    never = Handle<VkFence>(h, [dev](VkFence x) { vkDestroyFence(dev, x, nullptr); });
    vkWaitForFences(dev, 1, &f, VK_TRUE, UINT64_MAX);  // the real work still finishes before the error
    wait_on = h;
  }
  VkResult r = vkWaitForFences(dev, 1, &wait_on, VK_TRUE, ns);
  if (r == VK_TIMEOUT) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "GPU work did not finish within %g s on '%s' (raise EZIVK_TIMEOUT_S if this is expected)",
                  timeout_s, caps_.name.c_str());
    fail(buf);
  }
  vk_check(r, "waiting for GPU work");
}

void Context::submit_and_wait(VkCommandBuffer cb, VkFence f, double timeout_s) const {
  submit(cb, f);
  wait(f, timeout_s);
}

std::optional<bool> Context::coopmat_verdict(const std::string& kernel) const {
  std::lock_guard lock(mu_);
  auto it = coopmat_verdicts_.find(kernel);
  if (it == coopmat_verdicts_.end()) return std::nullopt;
  return it->second;
}

void Context::set_coopmat_verdict(const std::string& kernel, bool ok) {
  std::lock_guard lock(mu_);
  coopmat_verdicts_[kernel] = ok;
}

void Context::add_validation_message(std::string m) {
  std::lock_guard lock(mu_);
  messages_.push_back(std::move(m));
}

std::vector<std::string> Context::validation_messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

void Context::clear_validation_messages() {
  std::lock_guard lock(mu_);
  messages_.clear();
}

}  // namespace ezivk::gpu
