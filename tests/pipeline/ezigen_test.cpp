// EZIGen on the tiny sd2-tiny model against the independent PyTorch reference (tools/fixtures/
// make_ezigen_fixtures.py): the subject bank, then whole runs with fixed rounds (the sketch latent, the first
// pass, every round), in the adapter mode with a checkpoint whose main UNet differs from the folder's, and in the
// training-free reference mode with two subjects; plus the stop rule, the random-number contract and bad input.
#include "engine/pipeline/ezigen.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/io/npy.h"
#include "engine/io/png.h"
#include "engine/pipeline/text_to_image.h"
#include "support/gpu_fixture.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

nlohmann::json ezigen_case(const std::string& name) {
  std::ifstream f(golden_dir("") / "ezigen_cases.json");
  const auto doc = nlohmann::json::parse(f);
  for (auto& c : doc["cases"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no case " << name;
  return {};
}

std::filesystem::path checkpoint_dir() { return fixtures_dir() / "adapters" / "sd2-tiny-ezigen"; }

std::vector<float> golden_of(const nlohmann::json& c, const char* key) {
  return load_golden("", c["files"][key].get<std::string>()).values;
}

std::vector<uint8_t> golden_u8(const nlohmann::json& c, const char* key) {
  const auto a = io::read_npy(golden_dir("") / c["files"][key].get<std::string>());
  std::vector<uint8_t> v(a.data.size());
  std::memcpy(v.data(), a.data.data(), v.size());
  return v;
}

// Pixels that differ, and the largest difference.
std::pair<size_t, int> u8_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t n = 0;
  int worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const int d = std::abs(int(a[i]) - int(b[i]));
    n += d != 0;
    worst = std::max(worst, d);
  }
  return {a.size() == b.size() ? n : SIZE_MAX, worst};
}

pipeline::EzigenParams params_of(const pipeline::StableDiffusion& sd, const nlohmann::json& c) {
  pipeline::EzigenParams p;
  p.prompt = c["prompt"];
  p.negative = c["negative"];
  p.round_negative = c["round_negative"];
  p.steps = c["steps"];
  p.split = c["split"];
  p.seed = c["seed"];
  p.t_subject = c["t_subject"];
  p.guidance = c["guidance"];
  p.round_guidance = c["round_guidance"];
  p.rounds.fixed = c["rounds"].get<int>();
  p.mode = c["mode"] == "adapter" ? pipeline::SubjectMode::Adapter : pipeline::SubjectMode::Reference;
  if (c.contains("strength")) p.strength = c["strength"];
  for (size_t i = 0; i < c["subjects"].size(); ++i) {
    const auto img = io::read_png(fixtures_dir() / "ezigen" / c["subjects"][i].get<std::string>());
    p.subjects.push_back({pipeline::prepare_subject_image(img, pipeline::subject_size(sd)),
                          c["subject_prompts"][i].get<std::string>(), std::nullopt});
  }
  return p;
}

struct Case {
  std::string name;
  DType dtype;
};

class EzigenGolden : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(EzigenGolden, WholeRunMatchesTheReference) {
  const auto& k = GetParam();
  if (k.dtype == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "no fp16";
  const auto c = ezigen_case(k.name);
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), k.dtype);
  std::optional<pipeline::EzigenWeights> weights;
  if (c["mode"] == "adapter") {
    weights = pipeline::load_ezigen_weights(*sd, checkpoint_dir());
    // The fixture's main UNet differs from the folder's in a few tensors: generation runs a second UNet that
    // shares every unchanged tensor with the folder's.
    EXPECT_GT(weights->unet_tensors_changed, 0);
    EXPECT_LT(weights->unet_tensors_changed, weights->unet_tensors);
    ASSERT_TRUE(weights->unet_store);
    EXPECT_GT(weights->unet_store->shared_bytes(), 0u);
    EXPECT_LT(weights->unet_store->device_bytes(), sd->unet.report.device_bytes / 4);
  }
  auto p = params_of(*sd, c);
  // The subjects PIL resized for the reference are the ones the engine prepared.
  const auto subj = golden_u8(c, "subject_u8");
  const size_t one = size_t(c["size"].get<int>()) * c["size"].get<int>() * 3;
  ASSERT_EQ(subj.size(), one * p.subjects.size());
  for (size_t s = 0; s < p.subjects.size(); ++s)
    EXPECT_EQ(0, std::memcmp(p.subjects[s].image.pixels.data(), subj.data() + s * one, one));
  std::vector<int> rounds_seen;
  int sketches = 0;
  const auto r = pipeline::ezigen_generate(*sd, weights ? &*weights : nullptr, p, [&](const pipeline::Event& e) {
    if (auto* d = std::get_if<pipeline::RoundDone>(&e)) rounds_seen.push_back(d->round);
    if (std::holds_alternative<pipeline::SketchReady>(e)) ++sketches;
  });
  const double tol = k.dtype == DType::F32 ? 1e-4 : 3e-2;
  auto check = [&](const std::vector<float>& got, const char* key) {
    const double e = relative_l2(got, golden_of(c, key));
    EXPECT_LE(e, tol) << key;
    std::printf("%s %s %s: rel. L2 %.2e\n", k.name.c_str(), dtype_name(k.dtype), key, e);
  };
  check(r.sketch_latent, "sketch");
  check(r.first_latent, "first_latent");
  ASSERT_EQ(int(r.rounds.size()), c["rounds"].get<int>());
  for (size_t i = 0; i < r.rounds.size(); ++i) {
    const std::string key = "round" + std::to_string(i + 1);
    check(r.rounds[i].latent, (key + "_latent").c_str());
    const auto [n, worst] = u8_diff(r.rounds[i].image.pixels, golden_u8(c, (key + "_u8").c_str()));
    if (k.dtype == DType::F32) {
      EXPECT_LE(worst, 1) << key << ": " << n << " pixels differ";
    }
  }
  if (k.dtype == DType::F32) {
    const auto [n, worst] = u8_diff(r.first->pixels, golden_u8(c, "first_u8"));
    EXPECT_LE(worst, 1) << "first image: " << n << " pixels differ";
  }
  EXPECT_EQ(sketches, 1);
  std::vector<int> want_rounds;
  for (int i = 0; i <= c["rounds"].get<int>(); ++i) want_rounds.push_back(i);
  EXPECT_EQ(rounds_seen, want_rounds);
  EXPECT_TRUE(r.rounds.back().stop);
  EXPECT_EQ(r.image.pixels, r.rounds.back().image.pixels);
}

INSTANTIATE_TEST_SUITE_P(TinyModel, EzigenGolden,
                         ::testing::Values(Case{"ezigen_adapter", DType::F32}, Case{"ezigen_reference", DType::F32},
                                           Case{"ezigen_adapter", DType::F16}, Case{"ezigen_reference", DType::F16}),
                         [](const auto& info) {
                           return info.param.name + "_" + dtype_name(info.param.dtype);
                         });

using EzigenRun = GpuTest;

// The subject bank alone: every block's norm1 output of the subject pass, first and mid block against the reference.
TEST_F(EzigenRun, SubjectBankMatchesTheReference) {
  const auto c = ezigen_case("ezigen_reference");
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  const auto p = params_of(*sd, c);
  models::GraphRunner runner(ctx(), "bank");
  runner.reserve(pipeline::subject_pass_plan(*sd, 2));
  TorchGenerator gen_b(c["seed"].get<uint64_t>());
  const auto bank = pipeline::encode_subjects(*sd, runner, p.subjects, c["t_subject"], gen_b);
  ASSERT_EQ(bank.blocks.size(), 11u);
  const auto first = models::download_floats(ctx(), bank.tokens.at(bank.blocks.front()));
  const auto mid = models::download_floats(ctx(), bank.tokens.at("mid_block.attentions.0.transformer_blocks.0"));
  const int64_t latent = c["size"].get<int64_t>() / sd->vae.config.downsampling();
  EXPECT_EQ(bank.tokens.at(bank.blocks.front()).shape, (std::vector<int64_t>{1, 2 * latent * latent, 16}));
  EXPECT_LE(relative_l2(first, golden_of(c, "bank_first")), 1e-5);
  EXPECT_LE(relative_l2(mid, golden_of(c, "bank_mid")), 1e-5);
}

// The text-only steps before the split are a plain DDPM text-to-image run with the same seed and negative prompt
// (generator A's contract): the x̂0 of the last text-only step equals text-to-image's x̂0 preview at that step.
// The reference mode generates with the folder's UNet, as text-to-image does.
TEST_F(EzigenRun, SketchStepsEqualTextToImage) {
  const auto c = ezigen_case("ezigen_reference");
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto p = params_of(*sd, c);
  p.rounds.fixed = 0;
  const auto r = pipeline::ezigen_generate(*sd, nullptr, p);
  pipeline::TextToImageParams tp;
  tp.prompt = p.prompt;
  tp.negative_prompt = p.negative;
  tp.steps = p.steps;
  tp.seed = p.seed;
  tp.guidance = p.guidance;
  tp.scheduler = sched::SchedulerKind::DDPM;
  tp.preview_x0 = true;
  pipeline::CancelFlag stop;
  tp.cancel = &stop;
  pipeline::SnapshotPtr x0;
  int steps = 0;
  EXPECT_THROW(pipeline::text_to_image(*sd, tp, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e); s && ++steps == r.switch_step) {
      x0 = s->x0;
      stop.request();
    }
  }), pipeline::Cancelled);
  ASSERT_TRUE(x0);
  ASSERT_TRUE(r.sketch_x0);
  EXPECT_EQ(r.switch_step, 3);  // (1 - 0.5)·6 < i + 1
  EXPECT_EQ(r.round_first_step, 3);
  EXPECT_EQ(r.t_round, 500);
  EXPECT_LE(relative_l2(r.sketch_x0_latent, x0->values), 1e-6);
  // Generator A drew the initial latent and one DDPM noise per step before the split.
  EXPECT_EQ(r.gen_a_values_at_split, int64_t(r.sketch_latent.size()) * (1 + r.switch_step));
}

// Re-running the transfer from a kept sketch: with the same settings the run is the same run, bit for bit (final
// image, rounds, first pass) without running the sketch's steps again; with other settings after the split (round
// guidance) it differs; settings that fix the sketch (seed, steps) must match.
TEST_F(EzigenRun, RerunFromAKeptSketchReproducesTheRunWithoutItsSketchSteps) {
  const auto c = ezigen_case("ezigen_reference");
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto p = params_of(*sd, c);
  p.rounds.fixed = 1;
  const auto full = pipeline::ezigen_generate(*sd, nullptr, p);
  pipeline::EzigenParams::KeptSketch k{full.sketch_latent, full.gen_a_values_at_split, p.seed, p.steps, p.split,
                                       full.scheduler, full.width, full.height};
  auto again = p;
  again.from_sketch = k;
  int first_pass_steps = 0, lowest = 1 << 30;
  const auto rerun = pipeline::ezigen_generate(*sd, nullptr, again, [&](const pipeline::Event& e) {
    if (auto* s = std::get_if<pipeline::StepDone>(&e); s && s->round == 0) ++first_pass_steps, lowest = std::min(lowest, s->index);
  });
  EXPECT_EQ(lowest, full.switch_step);
  EXPECT_EQ(first_pass_steps, p.steps - full.switch_step);
  ASSERT_TRUE(full.first && rerun.first);
  EXPECT_EQ(rerun.first->pixels, full.first->pixels);
  EXPECT_EQ(rerun.image.pixels, full.image.pixels);
  EXPECT_EQ(rerun.first_latent, full.first_latent);

  auto other = again;
  other.round_guidance = p.round_guidance + 2.0;
  const auto changed = pipeline::ezigen_generate(*sd, nullptr, other);
  EXPECT_EQ(changed.first->pixels, full.first->pixels);  // the first pass did not change
  EXPECT_NE(changed.image.pixels, full.image.pixels);    // the round did

  auto wrong = again;
  wrong.seed = p.seed + 1;
  try {
    pipeline::ezigen_generate(*sd, nullptr, wrong);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

// The stop rule: fixed counts, the bounds, the threshold.
TEST(EzigenStopRule, FixedBoundsAndThreshold) {
  pipeline::RoundPolicy fixed;
  fixed.fixed = 2;
  EXPECT_FALSE(pipeline::decide_after_round(fixed, 1, 0.9999).stop);
  EXPECT_TRUE(pipeline::decide_after_round(fixed, 2, 0.1).stop);
  pipeline::RoundPolicy autostop;  // min 3, max 9
  autostop.threshold = 0.99;
  EXPECT_FALSE(pipeline::decide_after_round(autostop, 1, 0.999).stop);  // below the minimum
  EXPECT_FALSE(pipeline::decide_after_round(autostop, 2, 0.999).stop);
  EXPECT_TRUE(pipeline::decide_after_round(autostop, 3, 0.99).stop);    // >= threshold at the minimum
  EXPECT_FALSE(pipeline::decide_after_round(autostop, 3, 0.9899).stop);
  EXPECT_FALSE(pipeline::decide_after_round(autostop, 8, 0.5).stop);
  EXPECT_TRUE(pipeline::decide_after_round(autostop, 9, 0.5).stop);     // the maximum
  EXPECT_FALSE(pipeline::decide_after_round(autostop, 4, std::nullopt).stop);
  EXPECT_NEAR(pipeline::latent_similarity({1, 2, 3, 4}, {2, 4, 6, 8}), 1.0, 1e-12);
  EXPECT_NEAR(pipeline::latent_similarity({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_THROW(pipeline::default_similarity_threshold("dino"), Error);
}

// Auto-stop inside a run, with a scripted similarity: min 2, max 4, threshold 0.9; the similarity crosses it at
// round 3, so the run stops there; and with a similarity that never does, at the maximum.
TEST_F(EzigenRun, AutoStopWithAScriptedSimilarity) {
  const auto c = ezigen_case("ezigen_reference");
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto p = params_of(*sd, c);
  p.steps = 4;
  p.rounds.fixed.reset();
  p.rounds.min_rounds = 2;
  p.rounds.max_rounds = 4;
  p.rounds.threshold = 0.9;
  p.scripted_similarity = [](int round) { return round >= 3 ? 0.95 : 0.5; };
  auto r = pipeline::ezigen_generate(*sd, nullptr, p);
  ASSERT_EQ(r.rounds.size(), 3u);
  EXPECT_TRUE(r.rounds.back().stop);
  EXPECT_NE(r.rounds.back().reason.find("threshold"), std::string::npos);
  p.scripted_similarity = [](int) { return 0.1; };
  r = pipeline::ezigen_generate(*sd, nullptr, p);
  ASSERT_EQ(r.rounds.size(), 4u);
  EXPECT_NE(r.rounds.back().reason.find("max"), std::string::npos);
}

// Bad input: one clear error each.
TEST_F(EzigenRun, BadInputFailsClearly) {
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  auto p = params_of(*sd, ezigen_case("ezigen_adapter"));
  auto error_of = [&](const pipeline::EzigenParams& q, const pipeline::EzigenWeights* w) {
    try {
      pipeline::ezigen_generate(*sd, w, q);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(p, nullptr).find("--adapter"), std::string::npos);
  auto q = p;
  q.split = 1.0;
  EXPECT_NE(error_of(q, nullptr).find("--split"), std::string::npos);
  q = p;
  q.subjects.clear();
  EXPECT_NE(error_of(q, nullptr).find("subject"), std::string::npos);
  q = p;
  q.mode = pipeline::SubjectMode::Reference;
  q.scheduler = sched::SchedulerKind::Euler;
  EXPECT_NE(error_of(q, nullptr).find("ddpm or ddim"), std::string::npos);
  // A checkpoint for another model: sd1-tiny's blocks have other widths.
  auto sd1 = pipeline::load_stable_diffusion(ctx(), model_dir("sd1-tiny").string(), DType::F32);
  try {
    pipeline::load_ezigen_weights(*sd1, checkpoint_dir());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pipeline::load_ezigen_weights(*sd, "/nonexistent/ezigen.zip"), Error);
  // A zero-size mask.
  const io::Image8 empty{0, 0, 3, {}};
  EXPECT_THROW(pipeline::prepare_subject_image(p.subjects[0].image, 64, pipeline::SubjectAlpha::White, &empty), Error);
}

// Attention capture in both modes: one event per captured block for every step with the subject on; each query's
// probabilities over the subject's tokens add up to the share of attention the subject received; and capturing
// changes nothing in the image.
TEST_F(EzigenRun, AttentionCaptureIsConsistentAndChangesNothing) {
  for (const char* name : {"ezigen_adapter", "ezigen_reference"}) {
    const auto c = ezigen_case(name);
    auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
    std::optional<pipeline::EzigenWeights> weights;
    if (c["mode"] == "adapter") weights = pipeline::load_ezigen_weights(*sd, checkpoint_dir());
    auto p = params_of(*sd, c);
    p.rounds.fixed = 1;
    p.capture_blocks = {"down_blocks.0.attentions.0.transformer_blocks.0", "mid_block.attentions.0.transformer_blocks.0"};
    p.capture_points = {{0.5f, 0.5f}, {0.1f, 0.9f}, {0.99f, 0.0f}};
    int events = 0, subject_steps = 0;
    const auto r = pipeline::ezigen_generate(*sd, weights ? &*weights : nullptr, p, [&](const pipeline::Event& e) {
      if (auto* s = std::get_if<pipeline::StepDone>(&e); s && s->phase != pipeline::Phase::Sketch) ++subject_steps;
      auto* a = std::get_if<pipeline::AttentionCaptured>(&e);
      if (!a) return;
      ++events;
      const auto& shape = a->probs->shape;
      ASSERT_EQ(shape.size(), 3u);
      EXPECT_EQ(shape[0], 2);  // uncond and cond halves
      EXPECT_EQ(shape[1], 3);
      for (int64_t b = 0; b < shape[0]; ++b)
        for (int64_t q = 0; q < shape[1]; ++q) {
          double sum = 0;
          for (int64_t k = 0; k < shape[2]; ++k) sum += a->probs->values[size_t((b * shape[1] + q) * shape[2] + k)];
          const double mass = a->mass->values[size_t(b * shape[1] + q)];
          EXPECT_GT(mass, 0.0);
          EXPECT_LE(mass, 1.0 + 1e-6);
          EXPECT_NEAR(sum, mass, 1e-4) << a->block;
        }
    });
    EXPECT_EQ(events, 2 * subject_steps) << name;
    EXPECT_LE(relative_l2(r.first_latent, golden_of(c, "first_latent")), 1e-4) << name;
  }
}

// One head's capture (the viewer's head control): the events say which head they hold, and in a block of two heads
// the mean of head 0's and head 1's maps is the head-averaged map of the same run. A head the block lacks is an
// error naming the block.
TEST_F(EzigenRun, CaptureOfOneHeadAveragesToTheHeadMean) {
  const auto c = ezigen_case("ezigen_adapter");
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F32);
  const auto weights = pipeline::load_ezigen_weights(*sd, checkpoint_dir());
  const std::string block = "down_blocks.0.attentions.0.transformer_blocks.0";  // 2 heads in sd2-tiny
  auto run = [&](int head) {
    auto p = params_of(*sd, c);
    p.rounds.fixed = 1;
    p.capture_blocks = {block};
    p.capture_points = {{0.5f, 0.5f}, {0.1f, 0.9f}, {0.99f, 0.0f}};
    std::atomic<int> h{head};
    p.capture_head = &h;
    std::vector<std::vector<float>> maps;
    pipeline::ezigen_generate(*sd, &weights, p, [&](const pipeline::Event& e) {
      if (auto* a = std::get_if<pipeline::AttentionCaptured>(&e)) {
        EXPECT_EQ(a->head, head);
        maps.push_back(a->probs->values);
      }
    });
    return maps;
  };
  const auto mean = run(-1), h0 = run(0), h1 = run(1);
  ASSERT_FALSE(mean.empty());
  ASSERT_EQ(h0.size(), mean.size());
  ASSERT_EQ(h1.size(), mean.size());
  for (size_t i = 0; i < mean.size(); ++i) {
    std::vector<float> avg(mean[i].size());
    for (size_t k = 0; k < avg.size(); ++k) avg[k] = 0.5f * (h0[i][k] + h1[i][k]);
    EXPECT_LE(normalized_error(avg, mean[i]), 1e-5) << "capture " << i;
    EXPECT_GT(normalized_error(h0[i], mean[i]), 1e-3) << "one head's map should differ from the mean " << i;
  }
  auto p = params_of(*sd, c);
  p.capture_blocks = {block};
  p.capture_points = {{0.5f, 0.5f}};
  std::atomic<int> two{2};
  p.capture_head = &two;
  try {
    pipeline::ezigen_generate(*sd, &weights, p, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head 2 is out of range for block " + block + ", which has 2 heads"),
              std::string::npos) << e.what();
  }
}

// Subject preparation: alpha whitens the background (over white, PIL's rounding), `ignore` drops it, a mask
// whitens what it excludes; the result is resized to the model size.
TEST(EzigenSubjectImage, AlphaAndMaskWhitenTheBackground) {
  io::Image8 rgba{2, 1, 4, {10, 20, 30, 0, 10, 20, 30, 128}};
  const auto white = pipeline::prepare_subject_image(rgba, 2, pipeline::SubjectAlpha::White);
  const auto raw = pipeline::prepare_subject_image(rgba, 2, pipeline::SubjectAlpha::Ignore);
  ASSERT_EQ(white.channels, 3);
  ASSERT_EQ(white.width, 2);
  // Row resized from 1 to 2 rows: both rows equal the source row.
  EXPECT_EQ(std::vector<uint8_t>(white.pixels.begin(), white.pixels.begin() + 6),
            (std::vector<uint8_t>{255, 255, 255, uint8_t((10 * 128 + 255 * 127 + 127) / 255),
                                  uint8_t((20 * 128 + 255 * 127 + 127) / 255), uint8_t((30 * 128 + 255 * 127 + 127) / 255)}));
  EXPECT_EQ(std::vector<uint8_t>(raw.pixels.begin(), raw.pixels.begin() + 6), (std::vector<uint8_t>{10, 20, 30, 10, 20, 30}));
  const io::Image8 mask{2, 1, 3, {255, 255, 255, 0, 0, 0}};
  const io::Image8 rgb{2, 1, 3, {10, 20, 30, 40, 50, 60}};
  const auto masked = pipeline::prepare_subject_image(rgb, 2, pipeline::SubjectAlpha::White, &mask);
  EXPECT_EQ(std::vector<uint8_t>(masked.pixels.begin(), masked.pixels.begin() + 6),
            (std::vector<uint8_t>{10, 20, 30, 255, 255, 255}));
}

}  // namespace
}  // namespace ezivk::test
