// viewer::Generation on its own thread, driven as the UI drives it: Pause holds the run after a step, Step lets
// exactly one more run, Resume finishes it, Stop ends a paused run; all on the test device under validation.
#include "viewer/generation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/io/image_file.h"
#include "engine/pipeline/vae_codec.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using namespace std::chrono_literals;

bool g_done(const viewer::RunState& s) {
  return s.status != viewer::RunState::Status::Loading && s.status != viewer::RunState::Status::Running;
}
using GenerationControl = GpuTest;

viewer::RunSettings tiny_run(int steps) {
  viewer::RunSettings r;
  r.model = model_dir("sd2-tiny").string();
  r.t2i.prompt = "a photo of a cat";
  r.t2i.steps = steps;
  r.t2i.seed = 5;
  r.t2i.scheduler = sched::SchedulerKind::DDIM;
  return r;
}

// Waits up to a minute for `pred` on the generation's state.
template <class P>
viewer::RunState wait_for(const viewer::Generation& g, P pred) {
  const auto until = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto s = g.state();
    if (pred(s) || std::chrono::steady_clock::now() > until) return s;
    std::this_thread::sleep_for(5ms);
  }
}

TEST_F(GenerationControl, PauseHoldsStepRunsOneResumeFinishes) {
  viewer::Generation g(ctx(), tiny_run(6));
  g.set_paused(true);
  auto s = wait_for(g, [](const viewer::RunState& s) { return s.steps_done >= 1 || s.status == viewer::RunState::Status::Failed; });
  ASSERT_EQ(s.steps_done, 1) << s.message;
  std::this_thread::sleep_for(400ms);  // held: no further step in this time (a step takes tens of ms here)
  EXPECT_EQ(g.state().steps_done, 1);
  EXPECT_TRUE(g.state().paused);
  g.step_once();
  s = wait_for(g, [](const viewer::RunState& s) { return s.steps_done >= 2; });
  EXPECT_EQ(s.steps_done, 2);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(g.state().steps_done, 2);  // exactly one
  g.set_paused(false);
  s = wait_for(g, [](const viewer::RunState& s) { return g_done(s); });
  EXPECT_EQ(s.status, viewer::RunState::Status::Finished) << s.message;
  EXPECT_EQ(s.steps_done, 6);
  ASSERT_TRUE(s.final_image);
}

// VAE decode on demand while paused: the decoded picture is the model's VAE decode of that step's x̂0, from the
// host copy, and with device previews on from the device slot the step's x̂0 was copied into (guarded, so a decode
// that wrote into the slot, or read a stale one, would show).
class DecodeOnDemand : public GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(DecodeOnDemand, IsTheModelsDecodeOfTheLatestStepsX0) {
  auto run = tiny_run(6);
  gpu::Arena ring(ctx(), "test preview ring", 1 << 20, gpu::MemoryUse::Device);
  int slots_given = 0;
  if (GetParam())
    run.preview_slot = [&](uint64_t bytes) {
      ++slots_given;
      return ring.alloc(bytes, 256);
    };
  viewer::Generation g(ctx(), run);
  g.set_paused(true);
  auto s = wait_for(g, [](const viewer::RunState& s) { return s.steps_done >= 1 || g_done(s); });
  ASSERT_EQ(s.steps_done, 1) << s.message;
  g.step_once();  // held after step 1: one more, so the decode is of a later step than the first
  s = wait_for(g, [](const viewer::RunState& s) { return s.steps_done >= 2 || g_done(s); });
  ASSERT_EQ(s.steps_done, 2) << s.message;
  g.request_decode();
  s = wait_for(g, [](const viewer::RunState& s) { return s.decoded != nullptr || g_done(s); });
  ASSERT_TRUE(s.decoded) << s.message;
  EXPECT_EQ(s.decoded_step, s.step_index);
  EXPECT_EQ(g.state().steps_done, 2);  // still held
  // The same decode in this process.
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F16);
  const uint64_t bytes = s.x0->values.size() * 4;
  gpu::Arena arena(ctx(), "test decode", bytes + 256, gpu::MemoryUse::Device);
  const ops::Tensor t{arena.alloc(bytes, 256), ops::DType::F32, s.x0->shape};
  ctx().upload(t.data, s.x0->values.data(), bytes);
  models::GraphRunner runner(ctx(), "test decode");
  EXPECT_EQ(s.decoded->pixels, pipeline::decode_latents(*sd, runner, t).images.at(0).pixels);
  if (GetParam()) {
    EXPECT_EQ(slots_given, 2);
    ASSERT_TRUE(s.x0_device);
    std::vector<float> slot(s.x0->values.size());
    ctx().download(s.x0_device->slice, slot.data(), bytes);
    EXPECT_EQ(slot, s.x0->values);  // the decode left the slot as the step wrote it
  }
  g.stop();
}

INSTANTIATE_TEST_SUITE_P(HostOrDevice, DecodeOnDemand, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "FromTheDeviceSlot" : "FromTheHostCopy"; });

TEST_F(GenerationControl, StopEndsAPausedRun) {
  viewer::Generation g(ctx(), tiny_run(6));
  g.set_paused(true);
  auto s = wait_for(g, [](const viewer::RunState& s) { return s.steps_done >= 1 || g_done(s); });
  ASSERT_EQ(s.steps_done, 1) << s.message;
  g.stop();
  s = wait_for(g, [](const viewer::RunState& s) { return g_done(s); });
  EXPECT_EQ(s.status, viewer::RunState::Status::Stopped) << s.message;
  EXPECT_EQ(s.steps_done, 1);
  EXPECT_FALSE(s.final_image);
}

// "Re-run transfer": a second run from the first one's kept sketch skips the text-only steps and, with the same
// settings, draws the same final image.
TEST_F(GenerationControl, RerunFromTheKeptSketchSkipsTheSketchSteps) {
  viewer::RunSettings r = tiny_run(6);
  r.ezigen.emplace();
  auto& e = *r.ezigen;
  e.prompt = "a photo of a dog on the beach";
  e.steps = 6;
  e.seed = 8;
  e.scheduler = sched::SchedulerKind::DDIM;
  e.rounds.fixed = 1;
  r.adapter = (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string();
  r.subject_images.push_back(io::read_image(fixtures_dir() / "ezigen" / "subject_dog.png"));
  r.subject_prompts.push_back("a dog");
  viewer::RunState first;
  {
    viewer::Generation g(ctx(), r);
    first = wait_for(g, [](const viewer::RunState& s) { return g_done(s); });
  }
  ASSERT_EQ(first.status, viewer::RunState::Status::Finished) << first.message;
  ASSERT_TRUE(first.kept_sketch && first.sketch && first.final_image);
  r.ezigen->from_sketch = first.kept_sketch;
  r.sketch_image = first.sketch;
  viewer::Generation g(ctx(), r);
  const auto second = wait_for(g, [](const viewer::RunState& s) { return g_done(s); });
  ASSERT_EQ(second.status, viewer::RunState::Status::Finished) << second.message;
  ASSERT_TRUE(second.final_image);
  EXPECT_EQ(second.final_image->pixels, first.final_image->pixels);
  EXPECT_EQ(second.sketch, first.sketch);  // shown from the start
  ASSERT_FALSE(second.timeline.empty());
  EXPECT_GT(second.timeline.front().index, 0);  // began at the split
  EXPECT_LT(second.steps_done, first.steps_done);
}

}  // namespace
}  // namespace ezivk::test
