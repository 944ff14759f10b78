#include "viewer/picture_renderer.h"

#include <algorithm>
#include <cstring>

#include "engine/gpu/error.h"
#include "engine/util/error.h"

namespace ezivk::viewer {

namespace {

const uint32_t kVert[] =
#include "picture.vert.inc"
    ;
const uint32_t kFrag[] =
#include "picture.frag.inc"
    ;

struct Push {
  float rect[4];
  int32_t dims[4];
  float proj[16];  // column-major mat4: column c holds channel c's weights for r, g, b
  float bias[4];
};
static_assert(sizeof(Push) == 112);

constexpr uint32_t kMaxPictures = 256;

}  // namespace

void Picture::reserve(gpu::Context& ctx, uint64_t bytes) {
  bytes = std::max<uint64_t>(bytes, 256);
  if (external_) {  // back from a device slot to the picture's own buffer
    external_ = false;
    data_ = host_slice_;
    dirty_set_ = true;
  }
  if (arena_.capacity() >= bytes) return;
  arena_ = gpu::Arena(ctx, "viewer picture", bytes, gpu::MemoryUse::Upload);
  data_ = host_slice_ = arena_.alloc(bytes);
  dirty_set_ = true;
}

void Picture::set_device(const pipeline::DevicePreview& preview, const LatentProjection& p) {
  if (preview.shape.size() != 4 || !preview.slice) return;
  const gpu::Slice& s = preview.slice;
  if (!external_ || data_.buffer != s.buffer || data_.offset != s.offset || data_.size != s.size) dirty_set_ = true;
  data_ = s;
  external_ = true;
  width_ = int(preview.shape[3]), height_ = int(preview.shape[2]), channels_ = int(preview.shape[1]), mode_ = 0;
  proj_ = p;
  source_.reset();
}

void Picture::set(gpu::Context& ctx, const pipeline::ImagePtr& ptr) {
  if (!ptr || (source_ == ptr && mode_ == 1)) return;
  const io::Image8& image = *ptr;
  reserve(ctx, uint64_t(image.width) * image.height * 4);
  auto* dst = reinterpret_cast<uint8_t*>(data_.host);
  for (size_t i = 0; i < size_t(image.width) * image.height; ++i) {
    for (int k = 0; k < 3; ++k) dst[i * 4 + k] = image.pixels[i * image.channels + size_t(std::min(k, image.channels - 1))];
    dst[i * 4 + 3] = 255;
  }
  width_ = image.width, height_ = image.height, channels_ = 3, mode_ = 1;
  source_ = ptr;
}

void Picture::set(gpu::Context& ctx, const pipeline::SnapshotPtr& ptr, const LatentProjection& p) {
  if (!ptr || ptr->shape.size() != 4) return;
  if (source_ == ptr && mode_ == 0 && std::memcmp(&proj_, &p, sizeof p) == 0) return;
  const pipeline::Snapshot& latent = *ptr;
  const int64_t c = latent.shape[1], h = latent.shape[2], w = latent.shape[3];  // item 0 of the batch
  reserve(ctx, uint64_t(c * h * w) * 4);
  std::memcpy(data_.host, latent.values.data(), size_t(c * h * w) * 4);
  width_ = int(w), height_ = int(h), channels_ = int(c), mode_ = 0;
  proj_ = p;
  source_ = ptr;
}

PictureRenderer::PictureRenderer(gpu::Context& ctx, VkRenderPass pass) : ctx_(ctx) {
  VkDevice dev = ctx.device();
  VkDescriptorSetLayoutBinding b{0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_FRAGMENT_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = 1;
  li.pBindings = &b;
  VkDescriptorSetLayout sl;
  vk_check(vkCreateDescriptorSetLayout(dev, &li, nullptr, &sl), "creating the picture set layout");
  set_layout_ = gpu::Handle<VkDescriptorSetLayout>(sl, [dev](VkDescriptorSetLayout x) { vkDestroyDescriptorSetLayout(dev, x, nullptr); });
  VkPushConstantRange range{VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof(Push)};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &sl;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &range;
  VkPipelineLayout pl;
  vk_check(vkCreatePipelineLayout(dev, &pli, nullptr, &pl), "creating the picture pipeline layout");
  layout_ = gpu::Handle<VkPipelineLayout>(pl, [dev](VkPipelineLayout x) { vkDestroyPipelineLayout(dev, x, nullptr); });

  auto module = [&](const uint32_t* words, size_t bytes) {
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = bytes;
    mi.pCode = words;
    VkShaderModule m;
    vk_check(vkCreateShaderModule(dev, &mi, nullptr, &m), "creating a picture shader");
    return gpu::Handle<VkShaderModule>(m, [dev](VkShaderModule x) { vkDestroyShaderModule(dev, x, nullptr); });
  };
  const auto vs = module(kVert, sizeof kVert), fs = module(kFrag, sizeof kFrag);
  VkPipelineShaderStageCreateInfo stages[2] = {{VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO},
                                               {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO}};
  stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
  stages[0].module = vs.get();
  stages[0].pName = "main";
  stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
  stages[1].module = fs.get();
  stages[1].pName = "main";
  VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
  VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
  ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_STRIP;
  VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
  vp.viewportCount = 1;
  vp.scissorCount = 1;
  VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
  rs.polygonMode = VK_POLYGON_MODE_FILL;
  rs.cullMode = VK_CULL_MODE_NONE;
  rs.lineWidth = 1.f;
  VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
  ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineColorBlendAttachmentState att{};
  att.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
  VkPipelineColorBlendStateCreateInfo cb{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
  cb.attachmentCount = 1;
  cb.pAttachments = &att;
  const VkDynamicState dyn[] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
  ds.dynamicStateCount = 2;
  ds.pDynamicStates = dyn;
  VkGraphicsPipelineCreateInfo gi{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
  gi.stageCount = 2;
  gi.pStages = stages;
  gi.pVertexInputState = &vi;
  gi.pInputAssemblyState = &ia;
  gi.pViewportState = &vp;
  gi.pRasterizationState = &rs;
  gi.pMultisampleState = &ms;
  gi.pColorBlendState = &cb;
  gi.pDynamicState = &ds;
  gi.layout = pl;
  gi.renderPass = pass;
  VkPipeline p;
  vk_check(vkCreateGraphicsPipelines(dev, VK_NULL_HANDLE, 1, &gi, nullptr, &p), "creating the picture pipeline");
  pipeline_ = gpu::Handle<VkPipeline>(p, [dev](VkPipeline x) { vkDestroyPipeline(dev, x, nullptr); });

  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxPictures};
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = kMaxPictures;
  pi.poolSizeCount = 1;
  pi.pPoolSizes = &size;
  VkDescriptorPool pool;
  vk_check(vkCreateDescriptorPool(dev, &pi, nullptr, &pool), "creating the picture descriptor pool");
  pool_ = gpu::Handle<VkDescriptorPool>(pool, [dev](VkDescriptorPool x) { vkDestroyDescriptorPool(dev, x, nullptr); });
}

PictureRenderer::~PictureRenderer() = default;

VkDescriptorSet PictureRenderer::descriptor_for(Picture& pic) {
  VkDevice dev = ctx_.device();
  if (!pic.set_) {
    VkDescriptorSetLayout l = set_layout_.get();
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_.get();
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &l;
    vk_check(vkAllocateDescriptorSets(dev, &ai, &pic.set_), "allocating a picture descriptor set (too many pictures?)");
    pic.dirty_set_ = true;
  }
  if (pic.dirty_set_) {
    VkDescriptorBufferInfo bi{pic.data_.buffer, pic.data_.offset, pic.data_.size};
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = pic.set_;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &bi;
    vkUpdateDescriptorSets(dev, 1, &w, 0, nullptr);
    pic.dirty_set_ = false;
  }
  return pic.set_;
}

ImVec2 PictureRenderer::draw(Picture& pic, float side, const View& view) {
  if (pic.empty()) {
    ImGui::Dummy(ImVec2(side, side));
    return ImVec2(side, side);
  }
  const float scale = side / float(std::max(pic.width(), pic.height()));
  const ImVec2 size(float(pic.width()) * scale, float(pic.height()) * scale);
  const ImVec2 o = ImGui::GetCursorScreenPos();
  descriptor_for(pic);  // between frames: nothing in flight uses the set
  // Zoomed: the whole picture is drawn larger, around the view's centre, and clipped to its place (the callback's
  // scissor is the clip rectangle).
  const auto [va, vb] = view.rect(o, size);
  ImGui::PushClipRect(o, ImVec2(o.x + size.x, o.y + size.y), true);
  requests_.push_back({this, &pic, va, vb});
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddCallback(&PictureRenderer::callback, &requests_.back());
  dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
  ImGui::PopClipRect();
  ImGui::Dummy(size);
  return size;
}

std::pair<ImVec2, ImVec2> View::rect(ImVec2 origin, ImVec2 size) const {
  const ImVec2 v(size.x * zoom, size.y * zoom);
  const ImVec2 a(origin.x + size.x * 0.5f - centre_x * v.x, origin.y + size.y * 0.5f - centre_y * v.y);
  return {a, ImVec2(a.x + v.x, a.y + v.y)};
}

void PictureRenderer::begin_render(VkCommandBuffer cb, float fb_width, float fb_height) {
  cb_ = cb;
  fb_w_ = std::max(fb_width, 1.f);
  fb_h_ = std::max(fb_height, 1.f);
}

void PictureRenderer::end_frame() {
  requests_.clear();
  cb_ = VK_NULL_HANDLE;
}

void PictureRenderer::callback(const ImDrawList*, const ImDrawCmd* cmd) {
  const auto* r = static_cast<const Request*>(cmd->UserCallbackData);
  PictureRenderer& self = *r->self;
  // The window's clip rectangle, in display coordinates (the framebuffer's at scale 1).
  if (self.cb_) self.record(self.cb_, *r->pic, r->a, r->b, cmd->ClipRect, self.fb_w_, self.fb_h_);
}

void PictureRenderer::record(VkCommandBuffer cb, Picture& pic, ImVec2 a, ImVec2 b, ImVec4 clip, float fb_w, float fb_h) {
  if (pic.empty()) return;
  descriptor_for(pic);
  VkViewport vp{0, 0, fb_w, fb_h, 0, 1};
  vkCmdSetViewport(cb, 0, 1, &vp);
  const float x0 = std::clamp(clip.x, 0.f, fb_w), y0 = std::clamp(clip.y, 0.f, fb_h);
  const float x1 = std::clamp(clip.z, x0, fb_w), y1 = std::clamp(clip.w, y0, fb_h);
  VkRect2D sc{{int32_t(x0), int32_t(y0)}, {uint32_t(x1 - x0), uint32_t(y1 - y0)}};
  if (sc.extent.width == 0 || sc.extent.height == 0) return;
  vkCmdSetScissor(cb, 0, 1, &sc);
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline_.get());
  VkDescriptorSet set = pic.set_;
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_GRAPHICS, layout_.get(), 0, 1, &set, 0, nullptr);
  Push p{};
  p.rect[0] = 2.f * a.x / fb_w - 1.f;
  p.rect[1] = 2.f * a.y / fb_h - 1.f;
  p.rect[2] = 2.f * b.x / fb_w - 1.f;
  p.rect[3] = 2.f * b.y / fb_h - 1.f;
  p.dims[0] = pic.width_, p.dims[1] = pic.height_, p.dims[2] = pic.channels_, p.dims[3] = pic.mode_;
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 3; ++k) p.proj[c * 4 + k] = pic.proj_.proj[size_t(k * 4 + c)];
  for (int k = 0; k < 3; ++k) p.bias[k] = pic.proj_.bias[size_t(k)];
  vkCmdPushConstants(cb, layout_.get(), VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof p, &p);
  vkCmdDraw(cb, 4, 1, 0, 0);
}

}  // namespace ezivk::viewer
