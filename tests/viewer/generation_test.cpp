// viewer::Generation on its own thread, driven as the UI drives it: Pause holds the run after a step, Step lets
// exactly one more run, Resume finishes it, Stop ends a paused run; all on the test device under validation.
#include "viewer/generation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

}  // namespace
}  // namespace ezivk::test
