// Whole text-to-image runs on the tiny models against the independent PyTorch pipeline
// (tools/fixtures/make_t2i_fixtures.py): same prompt, seed, scheduler and guidance -> same final latent and image.
#include "engine/pipeline/text_to_image.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

nlohmann::json cases() {
  std::ifstream f(golden_dir("") / "t2i_cases.json");
  return nlohmann::json::parse(f)["cases"];
}

struct Case {
  std::string name;
  DType dtype;
};

class TextToImageGolden : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(TextToImageGolden, FinalLatentAndImageMatchTheReference) {
  const auto& p = GetParam();
  if (p.dtype == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16";
  nlohmann::json c;
  for (auto& e : cases())
    if (e["name"] == p.name) c = e;
  ASSERT_FALSE(c.is_null()) << p.name;
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir(c["model"]).string(), p.dtype);
  pipeline::TextToImageParams tp;
  tp.prompt = c["prompt"];
  tp.negative_prompt = c["negative"];
  tp.seed = c["seed"];
  tp.guidance = c["guidance"];
  tp.steps = c["steps"];
  tp.batch = c["batch"];
  tp.width = c["width"];
  tp.height = c["height"];
  tp.scheduler = sched::parse_scheduler_kind(c["scheduler"]);
  int steps_seen = 0;
  const auto r = pipeline::text_to_image(*sd, tp, [&](const pipeline::Event& e) {
    if (std::holds_alternative<pipeline::StepDone>(e)) ++steps_seen;
  });
  // The tokenizer, the timestep grid and the number of UNet calls agree with the reference.
  EXPECT_EQ(r.prompt_tokens.ids, c["prompt_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(r.timesteps, c["timesteps"].get<std::vector<float>>());
  EXPECT_EQ(steps_seen, int(r.timesteps.size()));

  const std::string model = c["model"];
  auto file = [&](const char* key) { return c["files"][key].get<std::string>().substr(model.size() + 1); };
  const auto latent = load_golden(model, file("latent"));
  const auto image = load_golden(model, file("image"));
  EXPECT_EQ(r.latent_shape, latent.shape);
  // Six steps with guidance 7.5 amplify differences in summation order; fp16 rounds every activation.
  const double tol = p.dtype == DType::F32 ? 1e-4 : 2e-2;
  const double el = relative_l2(r.latent, latent.values), ei = relative_l2(r.decoded, image.values);
  EXPECT_LE(el, tol) << "latent";
  EXPECT_LE(ei, tol) << "image";
  std::printf("%s %s: latent rel. L2 %.2e, image %.2e\n", p.name.c_str(), dtype_name(p.dtype), el, ei);
  ASSERT_EQ(int64_t(r.images.size()), tp.batch);
  EXPECT_EQ(r.images[0].width, tp.width);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, TextToImageGolden,
                         ::testing::Values(Case{"sd2-tiny/t2i_ddim", DType::F32}, Case{"sd2-tiny/t2i_ddpm", DType::F32},
                                           Case{"sd2-tiny/t2i_pndm", DType::F32}, Case{"sd2-tiny/t2i_euler", DType::F32},
                                           Case{"sd2-tiny/t2i_euler-a", DType::F32}, Case{"sd2-tiny/t2i_dpmpp2m", DType::F32},
                                           Case{"sd2-tiny/t2i_ddim_b2", DType::F32},
                                           Case{"sd2-tiny/t2i_euler_noguid", DType::F32},
                                           Case{"sd1-tiny/t2i_dpmpp2m", DType::F32}, Case{"sd2-tiny/t2i_ddim", DType::F16},
                                           Case{"sd2-tiny/t2i_euler-a", DType::F16}),
                         [](const auto& info) {
                           std::string s = info.param.name + "_" + dtype_name(info.param.dtype);
                           for (auto& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

using TextToImageEvents = GpuTest;

// x̂0 previews are owned host copies: one kept from step 0 is unchanged by later steps and is not the last one.
TEST_F(TextToImageEvents, PreviewsAreOwnedSnapshots) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  pipeline::TextToImageParams tp;
  tp.prompt = "a cat";
  tp.steps = 3;
  tp.seed = 5;
  tp.width = tp.height = 64;
  tp.preview_x0 = true;
  tp.scheduler = sched::SchedulerKind::DDIM;
  std::vector<pipeline::SnapshotPtr> kept;
  std::vector<pipeline::Phase> phases;
  const auto r = pipeline::text_to_image(*sd, tp, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e)) {
      kept.push_back(s->x0);
      phases.push_back(s->phase);
    }
  });
  ASSERT_EQ(kept.size(), 3u);
  const std::vector<float> first = kept[0]->values;
  EXPECT_EQ(kept[0]->shape, r.latent_shape);
  EXPECT_EQ(kept[0]->values, first);
  EXPECT_GT(relative_l2(kept[0]->values, kept[2]->values), 1e-3);
  for (auto ph : phases) EXPECT_EQ(ph, pipeline::Phase::Text);
}

// The cancel flag is checked between steps: set during step 2's event, the run stops before step 3 with
// Cancelled (not Failed) and reports it.
TEST_F(TextToImageEvents, CancelStopsBetweenSteps) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  pipeline::CancelFlag cancel;
  pipeline::TextToImageParams tp;
  tp.prompt = "a cat";
  tp.steps = 6;
  tp.width = tp.height = 64;
  tp.cancel = &cancel;
  int steps = 0, cancelled = 0, failed = 0;
  auto sink = [&](const pipeline::Event& e) {
    if (std::holds_alternative<pipeline::StepDone>(e) && ++steps == 2) cancel.request();
    if (std::holds_alternative<pipeline::CancelledEvent>(e)) ++cancelled;
    if (std::holds_alternative<pipeline::Failed>(e)) ++failed;
  };
  EXPECT_THROW(pipeline::text_to_image(*sd, tp, sink), pipeline::Cancelled);
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(cancelled, 1);
  EXPECT_EQ(failed, 0);
}

// The viewer's Stop and window close: generation runs on its own thread with split submits on a context the main
// thread shares; the main thread asks it to stop once the first step is done and joins it. The run ends with
// Cancelled before its last step (between steps or between pieces of one), and the context shuts down cleanly.
TEST(TextToImageThreads, StopFromAnotherThreadWhileAStepIsInFlight) {
  gpu::ContextOptions o;
  o.validation = true;
  o.cache_dir = "-";
  o.submit_every = 16;
  gpu::Context c(o);
  auto sd = pipeline::load_stable_diffusion(c, model_dir("sd2-tiny").string(), DType::F32);
  pipeline::CancelFlag cancel;
  pipeline::TextToImageParams tp;
  tp.prompt = "a cat";
  tp.steps = 20;
  tp.width = tp.height = 64;
  tp.cancel = &cancel;
  std::mutex mu;
  std::condition_variable cv;
  int steps = 0;
  std::string outcome;
  std::thread worker([&] {
    auto sink = [&](const pipeline::Event& e) {
      if (std::holds_alternative<pipeline::StepDone>(e)) {
        std::lock_guard lock(mu);
        ++steps;
        cv.notify_all();
      }
    };
    try {
      pipeline::text_to_image(*sd, tp, sink);
      outcome = "finished";
    } catch (const pipeline::Cancelled&) {
      outcome = "cancelled";
    } catch (const std::exception& e) {
      outcome = e.what();
    }
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return steps >= 1; });
  }
  cancel.request();
  worker.join();
  EXPECT_EQ(outcome, "cancelled");
  EXPECT_LT(steps, tp.steps);
  sd.reset();
  EXPECT_TRUE(c.validation_messages().empty()) << c.validation_messages().front();
}

}  // namespace
}  // namespace ezivk::test
