#include <gtest/gtest.h>

#include <string>

#include "engine/util/error.h"
#include "engine/sched/scheduler.h"
#include "sched/sched_fixture.h"

namespace ezivk::sched {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SchedulerConfig, ReadsStableDiffusionFile) {
  const SchedulerConfig c = SchedulerConfig::from_json(testing::sd2_config(), "sd2/scheduler/scheduler_config.json");
  EXPECT_EQ(c.class_name, "PNDMScheduler");
  EXPECT_EQ(scheduler_kind_from_class_name(c.class_name), SchedulerKind::PNDM);
  EXPECT_EQ(c.beta_schedule, BetaSchedule::ScaledLinear);
  EXPECT_EQ(c.beta_start, 0.00085);
  EXPECT_EQ(c.beta_end, 0.012);
  EXPECT_EQ(c.steps_offset, 1);
  EXPECT_FALSE(c.clip_sample_for(SchedulerKind::DDIM));
  EXPECT_FALSE(c.set_alpha_to_one_for(SchedulerKind::DDIM));
  EXPECT_EQ(c.prediction_type, PredictionType::Epsilon);
  EXPECT_TRUE(c.unsupported.empty());
  // Silent about spacing: each class's own default.
  EXPECT_EQ(c.spacing_for(SchedulerKind::DDIM), TimestepSpacing::Leading);
  EXPECT_EQ(c.spacing_for(SchedulerKind::PNDM), TimestepSpacing::Leading);
  EXPECT_EQ(c.spacing_for(SchedulerKind::DDPM), TimestepSpacing::Leading);
  EXPECT_EQ(c.spacing_for(SchedulerKind::DDIMInverse), TimestepSpacing::Leading);
  EXPECT_EQ(c.spacing_for(SchedulerKind::Euler), TimestepSpacing::Linspace);
  EXPECT_EQ(c.spacing_for(SchedulerKind::EulerAncestral), TimestepSpacing::Linspace);
  EXPECT_EQ(c.spacing_for(SchedulerKind::DPMSolverPP2M), TimestepSpacing::Linspace);
  EXPECT_EQ(c.spacing_for(SchedulerKind::DPMSolverPP2MInverse), TimestepSpacing::Linspace);
  for (auto kind : {SchedulerKind::DDPM, SchedulerKind::DDIM, SchedulerKind::PNDM, SchedulerKind::Euler,
                    SchedulerKind::EulerAncestral, SchedulerKind::DPMSolverPP2M, SchedulerKind::DDIMInverse,
                    SchedulerKind::DPMSolverPP2MInverse}) {
    auto s = make_scheduler(kind, c);
    s->set_timesteps(25);
    EXPECT_EQ(s->kind(), kind);
    EXPECT_GE(s->num_steps(), 25);
  }
}

TEST(SchedulerConfig, ClassDefaultsWhenSilent) {
  const SchedulerConfig c = SchedulerConfig::from_json(nlohmann::json::object(), "empty.json");
  EXPECT_EQ(c.num_train_timesteps, 1000);
  EXPECT_EQ(c.beta_schedule, BetaSchedule::Linear);
  EXPECT_TRUE(c.clip_sample_for(SchedulerKind::DDPM));
  EXPECT_TRUE(c.clip_sample_for(SchedulerKind::DDIM));
  EXPECT_FALSE(c.clip_sample_for(SchedulerKind::Euler));
  EXPECT_TRUE(c.set_alpha_to_one_for(SchedulerKind::DDIM));
  EXPECT_FALSE(c.set_alpha_to_one_for(SchedulerKind::PNDM));
  EXPECT_EQ(c.solver_order, 2);
  EXPECT_TRUE(c.lower_order_final);
  EXPECT_TRUE(c.final_sigma_zero);
}

TEST(SchedulerConfig, ErrorsNameTheFileAndKey) {
  auto check = [](nlohmann::json j, const std::string& key) {
    const std::string e = error_of([&] { SchedulerConfig::from_json(j, "m/scheduler_config.json"); });
    EXPECT_NE(e.find("m/scheduler_config.json"), std::string::npos) << j << ": " << e;
    EXPECT_NE(e.find("'" + key + "'"), std::string::npos) << j << ": " << e;
  };
  check({{"beta_schedule", "sigmoid"}}, "beta_schedule");
  check({{"beta_schedule", 3}}, "beta_schedule");
  check({{"prediction_type", "flow_prediction"}}, "prediction_type");
  check({{"timestep_spacing", "even"}}, "timestep_spacing");
  check({{"num_train_timesteps", 1.5}}, "num_train_timesteps");
  check({{"steps_offset", -1}}, "steps_offset");
  check({{"clip_sample", "yes"}}, "clip_sample");
  check({{"beta_end", 2.0}}, "beta_end");
  check({{"final_sigmas_type", "one"}}, "final_sigmas_type");
  check({{"solver_order", 4}}, "solver_order");
  EXPECT_THROW(SchedulerConfig::from_json(nlohmann::json::array(), "x.json"), Error);
}

TEST(SchedulerConfig, UnknownKeysAreIgnoredUnsupportedValuesRejectedByTheirClass) {
  nlohmann::json j = testing::sd2_config();
  j["some_future_key"] = 1;
  j["trained_betas"] = nlohmann::json::array({0.1, 0.2});
  const SchedulerConfig c = SchedulerConfig::from_json(j, "f.json");
  ASSERT_EQ(c.unsupported.count("trained_betas"), 1u);
  const std::string e = error_of([&] { make_scheduler(SchedulerKind::DDIM, c); });
  EXPECT_NE(e.find("f.json"), std::string::npos) << e;
  EXPECT_NE(e.find("trained_betas"), std::string::npos) << e;
}

TEST(SchedulerConfig, CommandLineOverrides) {
  SchedulerConfig c = SchedulerConfig::from_json(testing::sd2_config(), "sd2.json");
  c.set_override("timestep_spacing=trailing");
  c.set_override("prediction_type=v_prediction");
  c.set_override("eta=0.5");
  c.set_override("use_karras_sigmas=true");
  c.set_override("steps_offset=0");
  EXPECT_EQ(c.spacing_for(SchedulerKind::DDIM), TimestepSpacing::Trailing);
  EXPECT_EQ(c.prediction_type, PredictionType::VPrediction);
  EXPECT_EQ(c.eta, 0.5);
  EXPECT_TRUE(c.use_karras_sigmas);
  EXPECT_EQ(c.steps_offset, 0);
  EXPECT_EQ(c.origin.at("prediction_type"), "command line");
  EXPECT_THROW(c.set_override("no_such_key=1"), Error);
  EXPECT_THROW(c.set_override("eta"), Error);
  EXPECT_THROW(c.set_override("eta=-1"), Error);
  // A value set on the command line is reported as such.
  c.set_override("prediction_type=sample");
  const std::string e = error_of([&] { make_scheduler(SchedulerKind::PNDM, c); });
  EXPECT_NE(e.find("command line"), std::string::npos) << e;
  // An unsupported value can be overridden back to a supported one.
  c.set_override("thresholding=true");
  EXPECT_THROW(make_scheduler(SchedulerKind::DDIM, c), Error);
  c.set_override("thresholding=false");
  EXPECT_NO_THROW(make_scheduler(SchedulerKind::DDIM, c));
}

TEST(SchedulerConfig, KindNames) {
  EXPECT_EQ(parse_scheduler_kind("ddim"), SchedulerKind::DDIM);
  EXPECT_EQ(parse_scheduler_kind("euler-a"), SchedulerKind::EulerAncestral);
  EXPECT_EQ(parse_scheduler_kind("dpmpp2m-inverse"), SchedulerKind::DPMSolverPP2MInverse);
  const std::string e = error_of([] { parse_scheduler_kind("lms"); });
  EXPECT_NE(e.find("lms"), std::string::npos);
  for (const char* name : {"ddim", "ddpm", "pndm", "euler", "euler-a", "dpmpp2m", "ddim-inverse", "dpmpp2m-inverse"}) {
    EXPECT_NE(e.find(name), std::string::npos) << e;
    EXPECT_STREQ(scheduler_kind_name(parse_scheduler_kind(name)), name);
  }
  EXPECT_EQ(scheduler_kind_from_class_name("EulerDiscreteScheduler"), SchedulerKind::Euler);
  EXPECT_EQ(scheduler_kind_from_class_name("LMSDiscreteScheduler"), std::nullopt);
}

}  // namespace
}  // namespace ezivk::sched
