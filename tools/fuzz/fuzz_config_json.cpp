// Config files: JSON parsing with the depth limit, then every config reader (UNet, VAE, CLIP text and vision,
// scheduler) on the same document, and a scheduler built from it on a few step counts.
#include "engine/io/json_file.h"
#include "engine/models/clip_text_config.h"
#include "engine/models/clip_vision_config.h"
#include "engine/models/unet_config.h"
#include "engine/models/vae_config.h"
#include "engine/sched/scheduler.h"
#include "engine/sched/scheduler_config.h"
#include "tools/fuzz/fuzz_input.h"

using namespace ezivk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::expect_clean([&] {
    const auto j = io::parse_json(std::string(reinterpret_cast<const char*>(data), size), "config.json");
    if (!j.is_object()) return;
    const io::JsonFile f("config.json", j);
    fuzz::expect_clean([&] { (void)models::UNetConfig::from_json(f); });
    fuzz::expect_clean([&] { (void)models::VaeConfig::from_json(f); });
    fuzz::expect_clean([&] { (void)models::ClipTextConfig::from_json(f); });
    fuzz::expect_clean([&] { (void)models::ClipVisionConfig::from_json(f); });
    fuzz::expect_clean([&] {
      const auto c = sched::SchedulerConfig::from_json(j, "scheduler_config.json");
      for (auto kind : {sched::SchedulerKind::DDIM, sched::SchedulerKind::DDPM, sched::SchedulerKind::PNDM,
                        sched::SchedulerKind::Euler, sched::SchedulerKind::EulerAncestral,
                        sched::SchedulerKind::DPMSolverPP2M})
        fuzz::expect_clean([&] {
          auto s = sched::make_scheduler(kind, c);
          for (int steps : {1, 7, 50}) {
            s->set_timesteps(steps);
            for (int i = 0; i < s->num_steps(); ++i) (void)s->step_coefficients(i);
          }
        });
    });
  });
  return 0;
}
