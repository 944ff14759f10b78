#include "viewer/window.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <algorithm>
#include <cstring>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/error.h"
#include "engine/util/error.h"
#include "viewer/color_pass.h"
#include "viewer/color_target.h"

namespace ezivk::viewer {

namespace {

void on_glfw_error(int code, const char* text) { std::fprintf(stderr, "ezivk-viewer: GLFW error %d: %s\n", code, text); }

template <class T, class D>
gpu::Handle<T> own(T h, D destroy) {
  return gpu::Handle<T>(h, std::move(destroy));
}

}  // namespace

WindowSystem::WindowSystem(bool offscreen) : offscreen_(offscreen) {
  if (offscreen) return;
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) fail("the window system could not start (no display? set DISPLAY, or run under Xvfb)");
  if (!glfwVulkanSupported()) {
    glfwTerminate();
    fail("GLFW found no Vulkan loader that can present to windows");
  }
}

WindowSystem::~WindowSystem() {
  if (!offscreen_) glfwTerminate();
}

void WindowSystem::require(gpu::ContextOptions& o) const {
  // The frames are drawn by a graphics pipeline; a window also needs the family to present to it.
  const auto draws = [](VkPhysicalDevice pd, uint32_t family) {
    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qf(nq);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
    return (qf[family].queueFlags & VK_QUEUE_GRAPHICS_BIT) != 0;
  };
  if (offscreen_) {
    o.queue_family_ok = [draws](VkInstance, VkPhysicalDevice pd, uint32_t family) { return draws(pd, family); };
    return;
  }
  uint32_t n = 0;
  const char** exts = glfwGetRequiredInstanceExtensions(&n);
  if (!exts) fail("the window system offers no Vulkan surface extensions");
  for (uint32_t i = 0; i < n; ++i) o.instance_extensions.emplace_back(exts[i]);
  o.device_extensions.emplace_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  o.queue_family_ok = [draws](VkInstance inst, VkPhysicalDevice pd, uint32_t family) {
    return draws(pd, family) && glfwGetPhysicalDevicePresentationSupport(inst, pd, family);
  };
}

Window::Window(gpu::Context& ctx, int width, int height, const std::string& title, bool offscreen)
    : ctx_(ctx), offscreen_(offscreen) {
  if (offscreen) {
    wanted_ = {uint32_t(width), uint32_t(height)};
    final_layout_ = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL;
    format_ = {VK_FORMAT_R8G8B8A8_UNORM, VK_COLOR_SPACE_SRGB_NONLINEAR_KHR};
    try {
      init_device_objects();
    } catch (...) {
      destroy_swapchain();
      throw;
    }
    return;
  }
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  window_ = glfwCreateWindow(width, height, title.c_str(), nullptr, nullptr);
  if (!window_) fail("could not open a " + std::to_string(width) + "x" + std::to_string(height) + " window");
  glfwSetWindowUserPointer(window_, this);
  glfwSetDropCallback(window_, [](GLFWwindow* w, int count, const char** paths) {
    auto* self = static_cast<Window*>(glfwGetWindowUserPointer(w));
    for (int i = 0; i < count; ++i) self->dropped_.emplace_back(paths[i]);
  });
  glfwSetFramebufferSizeCallback(window_, [](GLFWwindow* w, int, int) {
    static_cast<Window*>(glfwGetWindowUserPointer(w))->resized_ = true;
  });
  try {
    vk_check(glfwCreateWindowSurface(ctx.instance(), window_, nullptr, &surface_), "creating the window surface");
    VkBool32 present = VK_FALSE;
    vkGetPhysicalDeviceSurfaceSupportKHR(ctx.physical(), ctx.queue_family(), surface_, &present);
    if (!present) fail("the engine's queue cannot present to this window");

    uint32_t nf = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical(), surface_, &nf, nullptr);
    std::vector<VkSurfaceFormatKHR> formats(nf);
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical(), surface_, &nf, formats.data());
    if (formats.empty()) fail("the window surface offers no formats");
    // UNORM, not SRGB: ImGui's colours and our images are already in display space.
    format_ = formats[0];
    for (const auto& f : formats)
      if (f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) {
        format_ = f;
        break;
      }

    init_device_objects();
  } catch (...) {
    destroy_swapchain();
    if (surface_) vkDestroySurfaceKHR(ctx.instance(), surface_, nullptr);
    glfwDestroyWindow(window_);
    throw;
  }
}

void Window::init_device_objects() {
  VkDevice dev = ctx_.device();
  render_pass_ = make_color_pass(dev, format_.format, final_layout_);

  pool_ = gpu::make_command_pool(dev, ctx_.queue_family(), "the window");
  cb_ = gpu::allocate_command_buffer(dev, pool_.get(), "the window");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  fi.flags = VK_FENCE_CREATE_SIGNALED_BIT;
  VkFence f;
  vk_check(vkCreateFence(dev, &fi, nullptr, &f), "creating a fence");
  fence_ = own(f, [dev](VkFence x) { vkDestroyFence(dev, x, nullptr); });
  VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  VkSemaphore s;
  vk_check(vkCreateSemaphore(dev, &si, nullptr, &s), "creating a semaphore");
  acquired_ = own(s, [dev](VkSemaphore x) { vkDestroySemaphore(dev, x, nullptr); });
  VkSemaphoreTypeCreateInfo ti{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  ti.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  ti.initialValue = 0;
  si.pNext = &ti;
  vk_check(vkCreateSemaphore(dev, &si, nullptr, &s), "creating the frames' timeline semaphore");
  frames_ = own(s, [dev](VkSemaphore x) { vkDestroySemaphore(dev, x, nullptr); });
  create_swapchain();
}

Window::~Window() {
  VkFence f = fence_.get();
  vkWaitForFences(ctx_.device(), 1, &f, VK_TRUE, UINT64_MAX);
  destroy_swapchain();
  rendered_.clear();
  acquired_.reset();
  fence_.reset();
  pool_.reset();
  render_pass_.reset();
  readback_ = gpu::Arena();
  if (offscreen_) return;
  vkDestroySurfaceKHR(ctx_.instance(), surface_, nullptr);
  glfwDestroyWindow(window_);
}

std::vector<std::string> Window::take_dropped() {
  std::vector<std::string> out;
  out.swap(dropped_);
  return out;
}

void Window::request_size(int width, int height) {
  if (offscreen_) {
    wanted_ = {uint32_t(width), uint32_t(height)};
    resized_ = true;
    return;
  }
  glfwSetWindowSize(window_, width, height);
}

bool Window::should_close() const { return close_requested_ || (!offscreen_ && glfwWindowShouldClose(window_)); }

void Window::request_close() {
  if (offscreen_) close_requested_ = true;
  else glfwSetWindowShouldClose(window_, GLFW_TRUE);
}

bool Window::minimised() const {
  if (offscreen_) return false;
  return glfwGetWindowAttrib(window_, GLFW_ICONIFIED) || extent_.width == 0 || extent_.height == 0;
}

void Window::create_offscreen() {
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(ctx_.physical(), &props);
  const uint32_t most = props.limits.maxImageDimension2D;
  if (wanted_.width == 0 || wanted_.height == 0 || wanted_.width > most || wanted_.height > most)
    fail("an offscreen frame of " + std::to_string(wanted_.width) + "x" + std::to_string(wanted_.height) +
         " does not fit the device's largest image (" + std::to_string(most) + " pixels a side; --window, --resize-at)");
  extent_ = wanted_;
  offscreen_target_ = make_color_target(ctx_, format_.format, extent_.width, extent_.height, "the offscreen frame");
  can_capture_ = true;
  images_ = {offscreen_target_.image.get()};
}

bool Window::create_chain() {
  VkDevice dev = ctx_.device();
  VkSurfaceCapabilitiesKHR caps;
  vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx_.physical(), surface_, &caps), "reading the surface");
  int fw = 0, fh = 0;
  glfwGetFramebufferSize(window_, &fw, &fh);
  extent_ = caps.currentExtent;
  if (extent_.width == UINT32_MAX)
    extent_ = {std::clamp(uint32_t(fw), caps.minImageExtent.width, caps.maxImageExtent.width),
               std::clamp(uint32_t(fh), caps.minImageExtent.height, caps.maxImageExtent.height)};
  if (extent_.width == 0 || extent_.height == 0) return false;
  can_capture_ = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
  VkSwapchainCreateInfoKHR sc{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  sc.surface = surface_;
  sc.minImageCount = std::max(2u, caps.minImageCount);
  if (caps.maxImageCount) sc.minImageCount = std::min(sc.minImageCount, caps.maxImageCount);
  sc.imageFormat = format_.format;
  sc.imageColorSpace = format_.colorSpace;
  sc.imageExtent = extent_;
  sc.imageArrayLayers = 1;
  sc.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (can_capture_ ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
  sc.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  sc.preTransform = caps.currentTransform;
  sc.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
  sc.presentMode = VK_PRESENT_MODE_FIFO_KHR;  // always supported
  sc.clipped = VK_TRUE;
  vk_check(vkCreateSwapchainKHR(dev, &sc, nullptr, &swapchain_), "creating the swapchain");
  uint32_t n = 0;
  vkGetSwapchainImagesKHR(dev, swapchain_, &n, nullptr);
  images_.resize(n);
  vkGetSwapchainImagesKHR(dev, swapchain_, &n, images_.data());
  return true;
}

void Window::create_swapchain() {
  VkDevice dev = ctx_.device();
  if (offscreen_) create_offscreen();
  else if (!create_chain()) return;  // minimised: no swapchain until it is shown again
  ++swapchains_created_;
  for (VkImage img : images_) {
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = img;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = format_.format;
    vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view;
    vk_check(vkCreateImageView(dev, &vi, nullptr, &view), "creating a swapchain image view");
    views_.push_back(view);
    VkFramebufferCreateInfo fb{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fb.renderPass = render_pass_.get();
    fb.attachmentCount = 1;
    fb.pAttachments = &view;
    fb.width = extent_.width;
    fb.height = extent_.height;
    fb.layers = 1;
    VkFramebuffer f;
    vk_check(vkCreateFramebuffer(dev, &fb, nullptr, &f), "creating a framebuffer");
    framebuffers_.push_back(f);
  }
  while (rendered_.size() < images_.size()) {
    VkSemaphoreCreateInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore s;
    vk_check(vkCreateSemaphore(dev, &si, nullptr, &s), "creating a semaphore");
    rendered_.push_back(own(s, [dev](VkSemaphore x) { vkDestroySemaphore(dev, x, nullptr); }));
  }
}

void Window::destroy_swapchain() {
  VkDevice dev = ctx_.device();
  for (VkFramebuffer f : framebuffers_) vkDestroyFramebuffer(dev, f, nullptr);
  for (VkImageView v : views_) vkDestroyImageView(dev, v, nullptr);
  framebuffers_.clear();
  views_.clear();
  images_.clear();
  if (swapchain_) vkDestroySwapchainKHR(dev, swapchain_, nullptr);
  swapchain_ = VK_NULL_HANDLE;
  offscreen_target_ = ColorTarget();
}

void Window::skip_frame() {
  // The last submitted frame's fence has signalled, so no device signal of the timeline is pending: a host signal of
  // the next number is valid.
  wait_frame();
  VkSemaphoreSignalInfo si{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO};
  si.semaphore = frames_.get();
  si.value = next_frame_.load();
  vk_check(vkSignalSemaphore(ctx_.device(), &si), "signalling a skipped frame");
  ++next_frame_;
}

void Window::wait_frame() {
  VkFence f = fence_.get();
  vk_check(vkWaitForFences(ctx_.device(), 1, &f, VK_TRUE, UINT64_MAX), "waiting for the last frame");
}

VkCommandBuffer Window::begin_frame() {
  VkDevice dev = ctx_.device();
  VkFence f = fence_.get();
  wait_frame();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (resized_ || !has_target()) {
      resized_ = false;
      // The last frame's fence has signalled and present has consumed its semaphore: nothing uses the chain.
      { const auto lock = ctx_.ui_queue_lock(); vkQueueWaitIdle(ctx_.ui_queue()); }
      destroy_swapchain();
      create_swapchain();
      if (!has_target()) {
        skip_frame();
        return VK_NULL_HANDLE;
      }
    }
    if (offscreen_) {
      image_index_ = 0;
      break;
    }
    const VkResult r = vkAcquireNextImageKHR(dev, swapchain_, UINT64_MAX, acquired_.get(), VK_NULL_HANDLE, &image_index_);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) {
      resized_ = true;
      continue;
    }
    if (r != VK_SUBOPTIMAL_KHR) vk_check(r, "acquiring a swapchain image");
    break;
  }
  if (!has_target() || resized_) {
    skip_frame();
    return VK_NULL_HANDLE;
  }
  vk_check(vkResetFences(dev, 1, &f), "resetting a fence");
  vk_check(vkResetCommandBuffer(cb_, 0), "resetting the frame's command buffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vk_check(vkBeginCommandBuffer(cb_, &bi), "beginning a frame");
  // Earlier submissions' compute and transfer writes (the engine's preview slots) become visible to this frame's
  // fragment shaders; pipeline barriers cover earlier submissions to the queue in submission order.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  VkClearValue clear{};
  clear.color = {{0.09f, 0.09f, 0.11f, 1.f}};
  VkRenderPassBeginInfo rb{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rb.renderPass = render_pass_.get();
  rb.framebuffer = framebuffers_[image_index_];
  rb.renderArea.extent = extent_;
  rb.clearValueCount = 1;
  rb.pClearValues = &clear;
  vkCmdBeginRenderPass(cb_, &rb, VK_SUBPASS_CONTENTS_INLINE);
  in_frame_ = true;
  return cb_;
}

void Window::end_frame(bool capture) {
  if (!in_frame_) return;
  in_frame_ = false;
  vkCmdEndRenderPass(cb_);
  const bool read = capture && can_capture_;
  const uint64_t bytes = uint64_t(extent_.width) * extent_.height * 4;
  gpu::Slice dst;
  if (read) {
    if (readback_.capacity() < bytes) readback_ = gpu::Arena(ctx_, "screenshot", bytes, gpu::MemoryUse::Readback);
    readback_.reset();
    dst = readback_.alloc(bytes);
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.oldLayout = final_layout_;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = images_[image_index_];
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr,
                         0, nullptr, 1, &b);
    VkBufferImageCopy region{};
    region.bufferOffset = dst.offset;
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent_.width, extent_.height, 1};
    vkCmdCopyImageToBuffer(cb_, images_[image_index_], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, dst.buffer, 1, &region);
    b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.dstAccessMask = 0;
    b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    b.newLayout = final_layout_;
    vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, nullptr, 0,
                         nullptr, 1, &b);
    VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 0, nullptr);
  }
  vk_check(vkEndCommandBuffer(cb_), "ending a frame");
  const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSemaphore acquired = acquired_.get();
  // Offscreen: no image to acquire or present, only the frame's number to signal.
  const VkSemaphore signal[2] = {offscreen_ ? frames_.get() : rendered_[image_index_].get(), frames_.get()};
  const uint64_t frame = next_frame_.load();
  const uint64_t signal_values[2] = {offscreen_ ? frame : 0, frame};  // a binary semaphore's value is ignored
  const uint32_t nsignal = offscreen_ ? 1 : 2;
  VkTimelineSemaphoreSubmitInfo tsi{VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
  tsi.signalSemaphoreValueCount = nsignal;
  tsi.pSignalSemaphoreValues = signal_values;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.pNext = &tsi;
  si.waitSemaphoreCount = offscreen_ ? 0 : 1;
  si.pWaitSemaphores = &acquired;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb_;
  si.signalSemaphoreCount = nsignal;
  si.pSignalSemaphores = signal;
  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &signal[0];
  pi.swapchainCount = 1;
  pi.pSwapchains = &swapchain_;
  pi.pImageIndices = &image_index_;
  VkResult pr = VK_SUCCESS;
  {
    const auto lock = ctx_.ui_queue_lock();  // on a one-queue device the generation thread submits to it too
    vk_check(vkQueueSubmit(ctx_.ui_queue(), 1, &si, fence_.get()), "submitting a frame");
    next_frame_ = frame + 1;
    if (!offscreen_) pr = vkQueuePresentKHR(ctx_.ui_queue(), &pi);
  }
  if (pr == VK_ERROR_OUT_OF_DATE_KHR || pr == VK_SUBOPTIMAL_KHR) resized_ = true;
  else vk_check(pr, "presenting a frame");
  if (read) {
    VkFence f = fence_.get();
    vk_check(vkWaitForFences(ctx_.device(), 1, &f, VK_TRUE, UINT64_MAX), "waiting for the screenshot");
    captured_.width = int(extent_.width);
    captured_.height = int(extent_.height);
    captured_.channels = 3;
    captured_.pixels.resize(size_t(bytes / 4 * 3));
    const auto* src = reinterpret_cast<const uint8_t*>(dst.host);
    const bool bgr = format_.format == VK_FORMAT_B8G8R8A8_UNORM || format_.format == VK_FORMAT_B8G8R8A8_SRGB;
    for (uint64_t i = 0; i < bytes / 4; ++i) {
      captured_.pixels[i * 3 + 0] = src[i * 4 + (bgr ? 2 : 0)];
      captured_.pixels[i * 3 + 1] = src[i * 4 + 1];
      captured_.pixels[i * 3 + 2] = src[i * 4 + (bgr ? 0 : 2)];
    }
  }
}

}  // namespace ezivk::viewer
