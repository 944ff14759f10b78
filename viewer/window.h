#pragma once
// The viewer's window on the engine's own Vulkan device: a GLFW window, its surface and swapchain, one render pass
// that Dear ImGui draws into, and frames submitted to Context::ui_queue() under its lock (a queue of the window's own
// where the device has a second one, else the engine's queue, which the generation thread submits to as well).
// Every frame also signals a timeline semaphore with its number, so another thread can wait for a given frame to be
// done (the preview ring, before it lets the engine rewrite a slot a frame drew). Optionally captures the frame it
// presents (--headless-screenshot).
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/handle.h"
#include "engine/gpu/memory.h"
#include "engine/io/image.h"
#include "viewer/color_target.h"

struct GLFWwindow;

namespace ezivk::viewer {

// GLFW is initialised once per process; this is what the engine's context must be created with. Offscreen (no
// display at all) it starts nothing and asks only for a queue that draws.
struct WindowSystem {
  explicit WindowSystem(bool offscreen = false);
  ~WindowSystem();
  WindowSystem(const WindowSystem&) = delete;
  WindowSystem& operator=(const WindowSystem&) = delete;
  // The instance extensions, device extension and queue condition a context needs to present to a window.
  void require(gpu::ContextOptions& o) const;

 private:
  bool offscreen_ = false;
};

class Window {
 public:
  // `offscreen`: no window and no display; frames are drawn into an image of the device (the same render pass, read
  // back the same way for --headless-screenshot) and never presented. For machines whose driver cannot present to
  // the display there is (a GPU server under Xvfb) and for reports; input then comes from the flags alone.
  Window(gpu::Context& ctx, int width, int height, const std::string& title, bool offscreen = false);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  GLFWwindow* handle() const { return window_; }  // null offscreen
  bool should_close() const;
  // Iconified, or a framebuffer of no pixels: begin_frame has no swapchain to draw into.
  bool minimised() const;
  std::vector<std::string> take_dropped();  // files dropped on the window since the last call
  int swapchains_created() const { return swapchains_created_; }  // 1 + the recreations (resizes, restores)
  void request_size(int width, int height);  // as a user's resize would
  void request_close();                      // as a user's close would: should_close() from now on
  VkRenderPass render_pass() const { return render_pass_.get(); }
  uint32_t image_count() const { return uint32_t(images_.size()); }

  // Starts a frame: the command buffer with the render pass begun, or null when the window is minimised (the
  // caller skips drawing). end_frame ends it, submits it and presents; with `capture`, the presented image is also
  // read back into captured().
  VkCommandBuffer begin_frame();
  // Waits until the last frame's commands finished (begin_frame does too): host-written buffers it read are free.
  void wait_frame();
  void end_frame(bool capture);
  // Frame numbers: the frame now being built signals next_frame() on frames_timeline() once its commands are done; a
  // frame that is not submitted (begin_frame returned null, or skip_frame) is signalled from the host, so every number
  // is reached and nothing waits on a frame that never came.
  uint64_t next_frame() const { return next_frame_.load(); }
  VkSemaphore frames_timeline() const { return frames_.get(); }
  // Gives up the frame now being built: signals its number from the host (after the last frame's commands).
  void skip_frame();
  const io::Image8& captured() const { return captured_; }
  int width() const { return int(extent_.width); }
  int height() const { return int(extent_.height); }

 private:
  std::vector<std::string> dropped_;
  int swapchains_created_ = 0;
  void create_swapchain();
  void create_offscreen();  // the swapchain's stand-in: one image of extent_
  bool create_chain();      // the swapchain and its images; false while minimised (no pixels)
  void init_device_objects();
  bool has_target() const { return offscreen_ ? bool(offscreen_target_.image) : swapchain_ != VK_NULL_HANDLE; }
  void destroy_swapchain();

  gpu::Context& ctx_;
  GLFWwindow* window_ = nullptr;
  VkSurfaceKHR surface_ = VK_NULL_HANDLE;
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkSurfaceFormatKHR format_{};
  VkExtent2D extent_{};
  bool can_capture_ = false;
  bool offscreen_ = false, close_requested_ = false;
  VkImageLayout final_layout_ = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;  // where the render pass leaves the image
  VkExtent2D wanted_{};                                           // offscreen: the size asked for
  ColorTarget offscreen_target_;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  gpu::Handle<VkRenderPass> render_pass_;
  gpu::Handle<VkCommandPool> pool_;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  gpu::Handle<VkFence> fence_;
  gpu::Handle<VkSemaphore> acquired_;
  gpu::Handle<VkSemaphore> frames_;  // timeline: frame n signals n
  std::atomic<uint64_t> next_frame_{1};
  std::vector<gpu::Handle<VkSemaphore>> rendered_;  // one per swapchain image: present waits on it
  uint32_t image_index_ = 0;
  bool in_frame_ = false, resized_ = false;
  gpu::Arena readback_;
  io::Image8 captured_;
};

}  // namespace ezivk::viewer
