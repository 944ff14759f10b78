// The viewer's picture pipeline (viewer/shaders/picture.{vert,frag}) against a CPU reference: a seeded random latent
// through a random projection, and packed RGBA8 pixels, rendered offscreen at exactly twice their size into a
// larger target whose untouched border must keep the clear colour (a guard against writes outside the rectangle),
// and clipped.
#include <gtest/gtest.h>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/one_shot.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "engine/gpu/error.h"
#include "support/gpu_fixture.h"
#include "viewer/color_pass.h"
#include "viewer/color_target.h"
#include "viewer/picture_renderer.h"

namespace ezivk::test {
namespace {

constexpr uint32_t kW = 16, kH = 12;  // the target; pictures land at (2, 2) .. (2 + 2w, 2 + 2h)
constexpr uint8_t kClear[4] = {7, 11, 13, 255};
constexpr VkFormat kFormat = VK_FORMAT_R8G8B8A8_UNORM;

class Offscreen {
 public:
  explicit Offscreen(gpu::Context& ctx) : ctx_(ctx) {
    VkDevice dev = ctx.device();
    target_ = viewer::make_color_target(ctx, kFormat, kW, kH, "the target");
    image_ = target_.image.get();
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = image_;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = kFormat;
    vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vk_check(vkCreateImageView(dev, &vi, nullptr, &view_), "creating the target view");
    pass_ = viewer::make_color_pass(dev, kFormat, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
    VkFramebufferCreateInfo fb{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fb.renderPass = pass_.get();
    fb.attachmentCount = 1;
    fb.pAttachments = &view_;
    fb.width = kW;
    fb.height = kH;
    fb.layers = 1;
    vk_check(vkCreateFramebuffer(dev, &fb, nullptr, &framebuffer_), "creating the framebuffer");
    pool_ = gpu::make_command_pool(dev, ctx.queue_family(), "the target");
    readback_ = gpu::Arena(ctx, "target readback", kW * kH * 4, gpu::MemoryUse::Readback);
    dst_ = readback_.alloc(kW * kH * 4);
  }
  ~Offscreen() {
    VkDevice dev = ctx_.device();
    vkDestroyFramebuffer(dev, framebuffer_, nullptr);
    vkDestroyImageView(dev, view_, nullptr);
  }
  VkRenderPass pass() const { return pass_.get(); }

  // Clears, lets `draw` record into the pass, and returns the target's RGBA bytes.
  template <class Draw>
  std::vector<uint8_t> render(Draw draw) {
    gpu::run_one_shot(ctx_, pool_.get(), [&](VkCommandBuffer cb) {
      VkClearValue clear{};
      for (int k = 0; k < 4; ++k) clear.color.float32[k] = float(kClear[k]) / 255.f;
      VkRenderPassBeginInfo rb{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
      rb.renderPass = pass_.get();
      rb.framebuffer = framebuffer_;
      rb.renderArea.extent = {kW, kH};
      rb.clearValueCount = 1;
      rb.pClearValues = &clear;
      vkCmdBeginRenderPass(cb, &rb, VK_SUBPASS_CONTENTS_INLINE);
      draw(cb);
      vkCmdEndRenderPass(cb);
      VkBufferImageCopy region{};
      region.bufferOffset = dst_.offset;
      region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
      region.imageExtent = {kW, kH, 1};
      vkCmdCopyImageToBuffer(cb, image_, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, dst_.buffer, 1, &region);
      VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
      host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 0, nullptr);
    }, "the test render");
    std::vector<uint8_t> out(kW * kH * 4);
    ctx_.download(dst_, out.data(), out.size());
    return out;
  }

 private:
  gpu::Context& ctx_;
  viewer::ColorTarget target_;
  VkImage image_ = VK_NULL_HANDLE;  // target_'s
  VkImageView view_ = VK_NULL_HANDLE;
  gpu::Handle<VkRenderPass> pass_;
  VkFramebuffer framebuffer_ = VK_NULL_HANDLE;
  gpu::Handle<VkCommandPool> pool_;
  gpu::Arena readback_;
  gpu::Slice dst_;
};

using PictureRendererTest = GpuTest;

// Checks every pixel: inside [x0, x1) x [y0, y1) of the picture at 2x (and inside the clip's x < clip_x1) it must be
// want(px, py) for the picture pixel under it (within `tol` levels), elsewhere the clear colour exactly.
template <class Want>
void expect_pixels(const std::vector<uint8_t>& got, int pw, int ph, uint32_t clip_x1, int tol, Want want) {
  int bad = 0;
  for (uint32_t y = 0; y < kH; ++y)
    for (uint32_t x = 0; x < kW; ++x) {
      const uint8_t* g = &got[(y * kW + x) * 4];
      const bool inside = x >= 2 && y >= 2 && x < 2u + 2u * uint32_t(pw) && y < 2u + 2u * uint32_t(ph) && x < clip_x1;
      std::array<int, 3> w{kClear[0], kClear[1], kClear[2]};
      if (inside) w = want(int(x - 2) / 2, int(y - 2) / 2);
      for (int k = 0; k < 3; ++k)
        if (std::abs(int(g[k]) - w[size_t(k)]) > (inside ? tol : 0) && bad++ < 5)
          ADD_FAILURE() << "pixel (" << x << ", " << y << ") channel " << k << ": got " << int(g[k]) << ", want " << w[size_t(k)]
                        << (inside ? "" : " (outside the picture: the clear colour)");
    }
  EXPECT_EQ(bad, 0);
}

TEST_F(PictureRendererTest, LatentThroughAProjectionMatchesTheCpu) {
  Offscreen target(ctx());
  viewer::PictureRenderer renderer(ctx(), target.pass());
  const int c = 4, w = 5, h = 3;  // odd sizes; the picture covers (2, 2) .. (12, 8)
  auto snap = std::make_shared<pipeline::Snapshot>();
  snap->shape = {1, c, h, w};
  snap->values = random_floats(size_t(c * h * w), 17, -2.f, 2.f);
  viewer::LatentProjection proj;
  const auto pv = random_floats(12, 18, -0.4f, 0.4f), bv = random_floats(3, 19, 0.2f, 0.8f);
  std::copy(pv.begin(), pv.end(), proj.proj.begin());
  std::copy(bv.begin(), bv.end(), proj.bias.begin());
  viewer::Picture pic;
  pic.set(ctx(), pipeline::SnapshotPtr(snap), proj);
  // The CPU's colour of latent pixel (px, py) of `z` through the projection.
  auto projected = [&](const pipeline::Snapshot& z) {
    return [&proj, &z, c, h, w](int px, int py) {
      std::array<int, 3> rgb{};
      for (int k = 0; k < 3; ++k) {
        double v = proj.bias[size_t(k)];
        for (int ch = 0; ch < c; ++ch) v += proj.proj[size_t(k * 4 + ch)] * z.values[size_t((ch * h + py) * w + px)];
        rgb[size_t(k)] = int(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
      }
      return rgb;
    };
  };
  const auto want = projected(*snap);
  const auto full = target.render([&](VkCommandBuffer cb) {
    renderer.record(cb, pic, ImVec2(2, 2), ImVec2(2 + 2 * w, 2 + 2 * h), ImVec4(0, 0, kW, kH), kW, kH);
  });
  expect_pixels(full, w, h, kW, 1, want);
  // Clipped at x = 7: the right part of the picture is not drawn.
  const auto clipped = target.render([&](VkCommandBuffer cb) {
    renderer.record(cb, pic, ImVec2(2, 2), ImVec2(2 + 2 * w, 2 + 2 * h), ImVec4(0, 0, 7, kH), kW, kH);
  });
  expect_pixels(clipped, w, h, 7, 1, want);

  // The same latent read straight from a device-local slot (the engine's preview path), at an offset inside a larger
  // buffer: the same pixels; then back to the picture's own buffer with other values.
  gpu::Arena device(ctx(), "test preview slot", 4096, gpu::MemoryUse::Device);
  const gpu::Slice slot = device.alloc(4096, 256).sub(512, snap->values.size() * 4);
  ctx().upload(slot, snap->values.data(), snap->values.size() * 4);
  viewer::Picture dev;
  dev.set_device({slot, snap->shape}, proj);
  const auto from_device = target.render([&](VkCommandBuffer cb) {
    renderer.record(cb, dev, ImVec2(2, 2), ImVec2(2 + 2 * w, 2 + 2 * h), ImVec4(0, 0, kW, kH), kW, kH);
  });
  expect_pixels(from_device, w, h, kW, 1, want);
  auto other = std::make_shared<pipeline::Snapshot>(*snap);
  for (auto& v : other->values) v = -v;
  dev.set(ctx(), pipeline::SnapshotPtr(other), proj);
  const auto back = target.render([&](VkCommandBuffer cb) {
    renderer.record(cb, dev, ImVec2(2, 2), ImVec2(2 + 2 * w, 2 + 2 * h), ImVec4(0, 0, kW, kH), kW, kH);
  });
  expect_pixels(back, w, h, kW, 1, projected(*other));
}

TEST_F(PictureRendererTest, RgbImagesAreDrawnExactly) {
  Offscreen target(ctx());
  viewer::PictureRenderer renderer(ctx(), target.pass());
  auto img = std::make_shared<io::Image8>();
  img->width = 7, img->height = 5, img->channels = 3;
  const auto v = random_floats(size_t(7 * 5 * 3), 23, 0.f, 255.f);
  for (float f : v) img->pixels.push_back(uint8_t(f));
  viewer::Picture pic;
  pic.set(ctx(), pipeline::ImagePtr(img));
  const auto got = target.render([&](VkCommandBuffer cb) {
    renderer.record(cb, pic, ImVec2(2, 2), ImVec2(2 + 14, 2 + 10), ImVec4(0, 0, kW, kH), kW, kH);
  });
  expect_pixels(got, 7, 5, kW, 0, [&](int px, int py) {
    const uint8_t* p = &img->pixels[size_t((py * 7 + px) * 3)];
    return std::array<int, 3>{p[0], p[1], p[2]};
  });
}

}  // namespace
}  // namespace ezivk::test
