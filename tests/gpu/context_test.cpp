#include <gtest/gtest.h>
#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/gpu/context.h"
#include "engine/gpu/device_report.h"
#include "engine/util/error.h"
#include "engine/gpu/shaders.h"
#include "engine/gpu/spirv_reflect.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {
namespace {

using ContextTest = GpuTest;

TEST_F(ContextTest, CreatesAValidatedDevice) {
  const auto& c = ctx().caps();
  EXPECT_FALSE(c.name.empty());
  EXPECT_GE(c.api_version, VK_API_VERSION_1_2);
  EXPECT_GT(c.subgroup_size, 0u);
  EXPECT_GE(c.max_shared_memory, 16384u);
  EXPECT_NE(ctx().device(), VK_NULL_HANDLE);
  EXPECT_NE(ctx().queue(), VK_NULL_HANDLE);
}

TEST_F(ContextTest, EnumerationListsTheChosenDevice) {
  auto devs = gpu::enumerate_devices(true);
  ASSERT_FALSE(devs.empty());
  bool found = false;
  for (const auto& d : devs) found |= d.name == ctx().caps().name;
  EXPECT_TRUE(found);
  auto j = gpu::caps_to_json(devs[0]);
  EXPECT_EQ(j["name"], devs[0].name);
  EXPECT_TRUE(j.contains("cooperative_matrix"));
  EXPECT_NE(gpu::caps_to_text(devs[0]).find("subgroup size"), std::string::npos);
}

TEST_F(ContextTest, SelectsByNameAndRejectsUnknownDevices) {
  const std::string name = ctx().caps().name;
  gpu::ContextOptions o;
  o.validation = true;
  o.cache_dir = "-";
  o.device = name.substr(0, std::min<size_t>(name.size(), 6));
  {
    gpu::Context by_name(o);
    EXPECT_EQ(by_name.caps().name.substr(0, o.device.size()), o.device);
    EXPECT_TRUE(by_name.validation_messages().empty());
  }
  o.device = "no-such-gpu-xyz";
  try {
    gpu::Context bad(o);
    FAIL() << "an unknown device name must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-gpu-xyz"), std::string::npos) << e.what();
  }
  o.device = "97";
  try {
    gpu::Context bad(o);
    FAIL() << "an out-of-range index must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("97"), std::string::npos) << e.what();
  }
}

// A cache folder the user named but that cannot be used is an error naming it, not a silent slow start.
TEST_F(ContextTest, AnUnusableNamedCacheFolderIsAnError) {
  const std::filesystem::path file = std::filesystem::temp_directory_path() / ("ezivk_cache_file_" + std::to_string(::getpid()));
  { std::ofstream(file) << "not a folder"; }
  gpu::ContextOptions o;
  o.validation = true;
  o.cache_dir = file.string();
  try {
    gpu::Context bad(o);
    ADD_FAILURE() << "a cache folder that is a file must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  o.cache_dir = (file / "sub").string();
  EXPECT_THROW(gpu::Context bad(o), Error);
  std::filesystem::remove(file);
  o.cache_dir = "/proc/ezivk-cache";
  EXPECT_THROW(gpu::Context bad(o), Error);
}

TEST_F(ContextTest, UnknownShaderIsAClearError) {
  try {
    ctx().pipeline("nope/not_a_shader");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope/not_a_shader"), std::string::npos);
  }
}

bool instance_has(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> e(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, e.data());
  return std::any_of(e.begin(), e.end(), [&](const auto& x) { return std::string(x.extensionName) == name; });
}

gpu::ContextOptions plain_options() {
  gpu::ContextOptions o;
  o.validation = true;
  o.cache_dir = "-";
  return o;
}

// The viewer asks for the window system's extensions; the engine enables them or names the one that is missing.
TEST_F(ContextTest, CallerExtensionsAreEnabledOrNamed) {
  auto o = plain_options();
  o.instance_extensions = {"VK_EZIVK_no_such_instance_extension"};
  try {
    gpu::Context c(o);
    FAIL() << "a missing instance extension must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("VK_EZIVK_no_such_instance_extension"), std::string::npos) << e.what();
  }
  o = plain_options();
  o.device = ctx().caps().name;
  o.device_extensions = {"VK_EZIVK_no_such_device_extension"};
  try {
    gpu::Context c(o);
    FAIL() << "a missing device extension must be an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("VK_EZIVK_no_such_device_extension"), std::string::npos) << m;
    EXPECT_NE(m.find(ctx().caps().name), std::string::npos) << m;
  }
  if (!instance_has(VK_KHR_SURFACE_EXTENSION_NAME) || !gpu::has_extension(ctx().physical(), VK_KHR_SWAPCHAIN_EXTENSION_NAME))
    GTEST_SKIP() << "this Vulkan installation has no window-system extensions";
  o = plain_options();
  o.instance_extensions = {VK_KHR_SURFACE_EXTENSION_NAME};
  o.device_extensions = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
  gpu::Context c(o);
  // Enabled: the device's swapchain entry point resolves (it is null for an extension that was not enabled).
  EXPECT_NE(vkGetDeviceProcAddr(c.device(), "vkCreateSwapchainKHR"), nullptr);
  EXPECT_NE(vkGetInstanceProcAddr(c.instance(), "vkDestroySurfaceKHR"), nullptr);
  EXPECT_TRUE(c.validation_messages().empty()) << c.validation_messages().front();
}

// The viewer needs a queue that also draws and presents: the condition picks the family, and a device without one
// is named.
TEST_F(ContextTest, QueueFamilyConditionPicksTheFamilyOrNamesTheDevice) {
  auto o = plain_options();
  std::vector<uint32_t> asked;
  o.queue_family_ok = [&](VkInstance inst, VkPhysicalDevice pd, uint32_t family) {
    EXPECT_NE(inst, VK_NULL_HANDLE);
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> qf(n);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, qf.data());
    asked.push_back(family);
    return (qf[family].queueFlags & VK_QUEUE_GRAPHICS_BIT) != 0;
  };
  {
    gpu::Context c(o);
    EXPECT_FALSE(asked.empty());
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(c.physical(), &n, nullptr);
    std::vector<VkQueueFamilyProperties> qf(n);
    vkGetPhysicalDeviceQueueFamilyProperties(c.physical(), &n, qf.data());
    EXPECT_TRUE(qf[c.queue_family()].queueFlags & VK_QUEUE_GRAPHICS_BIT);
    EXPECT_TRUE(qf[c.queue_family()].queueFlags & VK_QUEUE_COMPUTE_BIT);
  }
  o.queue_family_ok = [](VkInstance, VkPhysicalDevice, uint32_t) { return false; };
  o.device = ctx().caps().name;
  try {
    gpu::Context c(o);
    FAIL() << "a device without an acceptable queue family must be an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(ctx().caps().name), std::string::npos) << m;
    EXPECT_NE(m.find("queue family"), std::string::npos) << m;
  }
  o.device.clear();
  try {
    gpu::Context c(o);
    FAIL() << "no device meeting the condition must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("queue family"), std::string::npos) << e.what();
  }
}

TEST_F(ContextTest, PipelinesAreCreatedOnceAndSpecialized) {
  const uint32_t a[] = {64}, b[] = {128};
  const auto& p1 = ctx().pipeline("axpb/axpb_f32", a);
  const auto& p2 = ctx().pipeline("axpb/axpb_f32", a);
  const auto& p3 = ctx().pipeline("axpb/axpb_f32", b);
  EXPECT_EQ(&p1, &p2);
  EXPECT_NE(&p1, &p3);
  EXPECT_EQ(p1.binding_count(), 2u);
  EXPECT_EQ(p1.interface().push_constant_bytes, 12u);
}

}  // namespace
}  // namespace ezivk::test

namespace ezivk::test {
namespace {

TEST(ShaderRegistry, EveryEmbeddedShaderReflects) {
  // Includes the cooperative-matrix kernels that this device may be unable to run: their interfaces must
  // still be what the host binds.
  auto all = gpu::embedded_shaders();
  ASSERT_GT(all.size(), 3u);
  for (const auto& s : all) {
    SCOPED_TRACE(s.name);
    auto iface = gpu::reflect({s.words, s.word_count}, s.name);
    EXPECT_FALSE(iface.storage_bindings.empty());
    for (size_t i = 0; i < iface.storage_bindings.size(); ++i) EXPECT_EQ(iface.storage_bindings[i], i) << "bindings must be 0..n-1";
  }
}

}  // namespace
}  // namespace ezivk::test
