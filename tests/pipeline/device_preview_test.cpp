// Device previews: every step's x̂0 copied on the device into the consumer's slot (a ring of slots in one buffer)
// equals the host copy the same step reports, byte for byte, and nothing outside the slots is written.
#include "engine/pipeline/device_preview.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/text_to_image.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using DevicePreviewTest = GpuTest;

TEST_F(DevicePreviewTest, EveryStepsX0LandsInItsSlotExactly) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F16);
  pipeline::TextToImageParams p;
  p.prompt = "a photo of a cat";
  p.seed = 21;
  p.steps = 5;
  p.width = 48, p.height = 40;
  p.scheduler = sched::SchedulerKind::DDIM;
  p.preview_x0 = true;
  const int64_t f = sd->vae.config.downsampling();
  const uint64_t slot_bytes = uint64_t(4 * sd->unet.config.in_channels * (48 / f) * (40 / f)), guard = 256;
  const int slots = 3;
  // Slots at 256-byte steps with guard bytes between and around them, all set to a sentinel first.
  const uint64_t stride = ((slot_bytes + guard + 255) / 256) * 256;
  gpu::Arena arena(ctx(), "preview ring", stride * slots + guard, gpu::MemoryUse::Device);
  const gpu::Slice ring = arena.alloc(stride * slots + guard, 256);
  std::vector<uint8_t> sentinel(ring.size, 0xA5);
  ctx().upload(ring, sentinel.data(), ring.size);
  int next = 0, steps = 0;
  p.preview_slot = [&](uint64_t bytes) {
    EXPECT_EQ(bytes, slot_bytes);
    return ring.sub(guard + stride * uint64_t(next++ % slots), bytes);
  };
  pipeline::text_to_image(*sd, p, [&](const pipeline::Event& e) {
    auto* s = std::get_if<pipeline::StepDone>(&e);
    if (!s) return;
    ++steps;
    ASSERT_TRUE(s->x0_device && s->x0);
    EXPECT_EQ(s->x0_device->shape, s->x0->shape);
    std::vector<float> got(s->x0->values.size());
    ctx().download(s->x0_device->slice, got.data(), got.size() * 4);
    EXPECT_EQ(std::memcmp(got.data(), s->x0->values.data(), got.size() * 4), 0) << "step " << s->index;
  });
  EXPECT_EQ(steps, 5);
  std::vector<uint8_t> after(ring.size);
  ctx().download(ring, after.data(), ring.size);
  for (uint64_t i = 0; i < ring.size; ++i) {
    const bool in_slot = i >= guard && (i - guard) % stride < slot_bytes && (i - guard) / stride < uint64_t(slots);
    if (!in_slot) {
      ASSERT_EQ(after[i], 0xA5) << "byte " << i << " outside every slot was written";
    }
  }
}

}  // namespace
}  // namespace ezivk::test
