#include "engine/ops/sched_step.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/sched/scheduler.h"
#include "tests/ops/dtype_params.h"

namespace ezivk::test {
namespace {

// Random coefficients exercising every term: guidance, clamp, noise, 5 history slots read and 3 written (one
// read and written in the same step).
std::vector<float> random_coefficients(uint32_t seed, size_t slots) {
  auto r = random_floats(16, seed, -1.f, 1.f);
  sched::StepCoefficients c;
  c.x0_sample = r[0];
  c.x0_model_output = r[1];
  c.clip_x0 = true;
  c.clip_range = 0.8;
  c.sample = r[2];
  c.model_output = r[3];
  c.x0 = r[4];
  c.noise = r[5];
  for (size_t j = 0; j < slots; ++j) c.history.push_back(r[6 + j]);
  if (slots) {
    c.writes.push_back({0, r[12], r[13], 0.0});
    c.writes.push_back({int(slots - 1), 0.0, 0.0, r[14]});
    c.writes.push_back({int(slots / 2), r[15], 0.0, 0.5});
  }
  return sched::pack_step_coefficients(c);
}

struct StepCase {
  int64_t n;
  bool guided, noise;
  size_t slots;
  DType model_dtype;
};

class SchedStepTest : public GpuTest, public ::testing::WithParamInterface<StepCase> {};

TEST_P(SchedStepTest, MatchesReferenceWithGuards) {
  const auto p = GetParam();
  EZIVK_SKIP_WITHOUT_DTYPE(p.model_dtype);
  const int64_t n = p.n, mn = p.guided ? 2 * n : n;
  gpu::Arena arena(ctx(), "sched_step", 8 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, size_t(n), DType::F32), m(ctx(), arena, size_t(mn), p.model_dtype),
      z(ctx(), arena, size_t(n), DType::F32), h(ctx(), arena, size_t(std::max<size_t>(p.slots, 1) * n), DType::F32),
      x0(ctx(), arena, size_t(n), DType::F32), c(ctx(), arena, ops::kStepCoefficientFloats, DType::F32);
  const auto xv = random_floats(size_t(n), 11, -2.f, 2.f);
  const auto mv = quantize(random_floats(size_t(mn), 12, -2.f, 2.f), p.model_dtype);
  const auto zv = random_floats(size_t(n), 13);
  auto hv = random_floats(size_t(std::max<size_t>(p.slots, 1) * n), 14);
  const auto cv = random_coefficients(15, p.slots);
  x.upload(xv);
  m.upload(mv);
  z.upload(zv);
  h.upload(hv);
  c.upload(cv);

  gpu::Recorder rec(ctx());
  ops::SchedStepArgs a;
  a.x = x.tensor({n});
  a.model_out = m.tensor({mn});
  a.guided = p.guided;
  a.guidance = 7.5f;
  if (p.noise) a.noise = z.tensor({n});
  if (p.slots) a.history = h.tensor({int64_t(p.slots), n});
  a.x0 = x0.tensor({n});
  a.coefficients = c.tensor({int64_t(ops::kStepCoefficientFloats)});
  ops::sched_step(ctx(), rec, a);
  rec.submit_and_wait();

  std::vector<float> want_x0;
  std::vector<float>* hist = p.slots ? &hv : nullptr;
  const auto want = ops::sched_step_ref(xv, mv, p.guided, 7.5f, p.noise ? &zv : nullptr, hist, cv, want_x0);
  EXPECT_LE(normalized_error(x.download(), want), 1e-5);
  EXPECT_LE(normalized_error(x0.download(), want_x0), 1e-5);
  if (p.slots) {
    EXPECT_LE(normalized_error(h.download(), hv), 1e-5);
  }
  for (auto* g : {&x, &m, &z, &h, &x0, &c}) EXPECT_TRUE(g->guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Cases, SchedStepTest,
                         ::testing::Values(StepCase{1, false, false, 0, DType::F32}, StepCase{17, true, true, 5, DType::F32},
                                           StepCase{1000, true, false, 1, DType::F16}, StepCase{4 * 8 * 6, false, true, 5, DType::F16},
                                           StepCase{65537, true, true, 2, DType::F32}),
                         [](const auto& info) {
                           const auto& p = info.param;
                           return "n" + std::to_string(p.n) + (p.guided ? "_cfg" : "") + (p.noise ? "_noise" : "") + "_h" +
                                  std::to_string(p.slots) + "_" + dtype_name(p.model_dtype);
                         });

// Ten real steps of each multistep scheduler on the GPU against the scheduler's own host reference.
class SchedStepLoop : public GpuTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SchedStepLoop, FollowsTheHostScheduler) {
  const nlohmann::json cfg = {{"beta_start", 0.00085}, {"beta_end", 0.012}, {"beta_schedule", "scaled_linear"},
                              {"steps_offset", 1}, {"set_alpha_to_one", false}, {"skip_prk_steps", true},
                              {"clip_sample", false}};
  auto s = sched::make_scheduler(sched::parse_scheduler_kind(GetParam()), sched::SchedulerConfig::from_json(cfg, "test"));
  s->set_timesteps(10);
  const int64_t n = 96;
  gpu::Arena arena(ctx(), "sched_loop", 1 << 20, gpu::MemoryUse::Device);
  Guarded x(ctx(), arena, n, DType::F32), m(ctx(), arena, n, DType::F32), z(ctx(), arena, n, DType::F32),
      h(ctx(), arena, size_t(std::max(1, s->history_slots()) * n), DType::F32), x0(ctx(), arena, n, DType::F32),
      c(ctx(), arena, ops::kStepCoefficientFloats, DType::F32);
  auto host = random_floats(size_t(n), 21, -1.f, 1.f);
  x.upload(host);
  h.upload(std::vector<float>(h.count(), 0.f));
  for (int i = 0; i < s->num_steps(); ++i) {
    // A fake model whose output depends on the sample, as a UNet's does.
    std::vector<float> mv(static_cast<size_t>(n));
    const std::vector<float> zv = random_floats(static_cast<size_t>(n), uint32_t(100 + i));
    const auto cur = x.download();
    for (int64_t k = 0; k < n; ++k) mv[size_t(k)] = 0.3f * cur[size_t(k)] + 0.1f * std::sin(float(k) + s->timesteps()[size_t(i)] / 100.f);
    m.upload(mv);
    z.upload(zv);
    c.upload(sched::pack_step_coefficients(s->step_coefficients(i)));
    gpu::Recorder rec(ctx());
    ops::SchedStepArgs a;
    a.x = x.tensor({n});
    a.model_out = m.tensor({n});
    if (s->needs_noise(i)) a.noise = z.tensor({n});
    if (s->history_slots()) a.history = h.tensor({s->history_slots(), n});
    a.x0 = x0.tensor({n});
    a.coefficients = c.tensor({int64_t(ops::kStepCoefficientFloats)});
    ops::sched_step(ctx(), rec, a);
    rec.submit_and_wait();
    host = s->step(i, mv, host, s->needs_noise(i) ? &zv : nullptr);
    ASSERT_LE(normalized_error(x.download(), host), 1e-5) << GetParam() << " step " << i;
    ASSERT_LE(normalized_error(x0.download(), s->predicted_x0()), 1e-5) << GetParam() << " step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Schedulers, SchedStepLoop,
                         ::testing::Values("ddim", "ddpm", "pndm", "euler", "euler-a", "dpmpp2m"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

}  // namespace
}  // namespace ezivk::test
