#pragma once
// Pictures in ImGui windows without textures: Debian's Dear ImGui 1.86 Vulkan backend binds only its font texture,
// so each picture is a storage buffer that our own small graphics pipeline reads in its fragment shader, drawn
// through an ImDrawList callback (after which ImGui's render state is reset). A latent is drawn through a linear
// latent-to-RGB projection in the shader; an RGB image as packed RGBA8.
//
// The buffers are host-visible and written between frames (the window waits for the previous frame before the
// next one is recorded), so a picture costs one memcpy when its content changes and nothing otherwise.
#include <array>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include <imgui.h>

#include "engine/gpu/context.h"
#include "engine/gpu/handle.h"
#include "engine/gpu/memory.h"
#include "engine/io/image.h"
#include "engine/pipeline/events.h"

namespace ezivk::viewer {

// rgb = proj · (latent channels 0..3) + bias, proj row-major [3][4].
struct LatentProjection {
  std::array<float, 12> proj{};
  std::array<float, 3> bias{};
};

// What a picture shows; set() uploads only when the source changed.
class Picture {
 public:
  Picture() = default;
  // The picture keeps the source alive: a new source is never mistaken for an old one at the same address.
  void set(gpu::Context& ctx, const pipeline::ImagePtr& image);
  void set(gpu::Context& ctx, const pipeline::SnapshotPtr& latent, const LatentProjection& p);
  // A latent that stays on the device: the shader reads the engine's preview slot itself (no upload). The slot must
  // stay alive while frames that draw it are in flight (the viewer's preview ring lives as long as the window).
  void set_device(const pipeline::DevicePreview& preview, const LatentProjection& p);
  bool empty() const { return width_ == 0; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  friend class PictureRenderer;
  void reserve(gpu::Context& ctx, uint64_t bytes);
  gpu::Arena arena_;
  gpu::Slice data_, host_slice_;  // what the shader reads; the picture's own host-visible buffer
  bool external_ = false;         // data_ is a device preview slot
  int width_ = 0, height_ = 0, channels_ = 0, mode_ = 0;
  LatentProjection proj_;
  std::shared_ptr<const void> source_;  // the last content uploaded
  VkDescriptorSet set_ = VK_NULL_HANDLE;
  bool dirty_set_ = true;
};

// Zoom and pan of a picture in its place: `zoom` times larger, the point (centre_x, centre_y) of the picture (0..1)
// at the middle of its place.
struct View {
  float zoom = 1.f, centre_x = 0.5f, centre_y = 0.5f;
  // The whole picture's rectangle on screen (a, b) for a place at `origin` of `size`: larger than the place when
  // zoomed in.
  std::pair<ImVec2, ImVec2> rect(ImVec2 origin, ImVec2 size) const;
};

class PictureRenderer {
 public:
  PictureRenderer(gpu::Context& ctx, VkRenderPass pass);
  ~PictureRenderer();
  PictureRenderer(const PictureRenderer&) = delete;
  PictureRenderer& operator=(const PictureRenderer&) = delete;

  // Adds `pic` to the current ImGui window at the cursor, `side` pixels on its longer side, seen through `view`;
  // returns the size of its place.
  ImVec2 draw(Picture& pic, float side, const View& view = {});
  // Call before ImGui_ImplVulkan_RenderDrawData with the frame's command buffer; the callbacks record into it.
  void begin_render(VkCommandBuffer cb, float fb_width, float fb_height);
  void end_frame();  // forgets this frame's draw requests

  // Records `pic` into `cb` (inside a render pass compatible with the one given at construction) over the pixel
  // rectangle [a, b) of a framebuffer of fb_w x fb_h, clipped to `clip` (x0, y0, x1, y1). What the ImGui callback
  // does; tests call it directly.
  void record(VkCommandBuffer cb, Picture& pic, ImVec2 a, ImVec2 b, ImVec4 clip, float fb_w, float fb_h);

 private:
  struct Request {
    PictureRenderer* self;
    Picture* pic;
    ImVec2 a, b;
  };
  static void callback(const ImDrawList* list, const ImDrawCmd* cmd);
  VkDescriptorSet descriptor_for(Picture& pic);

  gpu::Context& ctx_;
  gpu::Handle<VkDescriptorSetLayout> set_layout_;
  gpu::Handle<VkPipelineLayout> layout_;
  gpu::Handle<VkPipeline> pipeline_;
  gpu::Handle<VkDescriptorPool> pool_;
  std::deque<Request> requests_;  // stable addresses for the callbacks' user data
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  float fb_w_ = 1, fb_h_ = 1;
};

}  // namespace ezivk::viewer
