#include <algorithm>
#include <string>

#include "engine/ops/sched_step_layout.h"
#include "engine/sched/scheduler.h"
#include "engine/util/error.h"

namespace ezivk::sched {

std::vector<float> pack_step_coefficients(const StepCoefficients& c) {
  using namespace ops;
  if (c.history.size() > kStepMaxHistory)
    fail("sched_step: " + std::to_string(c.history.size()) + " history slots, at most " + std::to_string(kStepMaxHistory) + " supported");
  if (c.writes.size() > kStepMaxWrites)
    fail("sched_step: " + std::to_string(c.writes.size()) + " history writes, at most " + std::to_string(kStepMaxWrites) + " supported");
  std::vector<float> v(kStepCoefficientFloats, 0.f);
  v[0] = float(c.x0_sample);
  v[1] = float(c.x0_model_output);
  v[2] = c.clip_x0 ? 1.f : 0.f;
  v[3] = float(c.clip_range);
  v[4] = float(c.sample);
  v[5] = float(c.model_output);
  v[6] = float(c.x0);
  v[7] = float(c.noise);
  for (size_t j = 0; j < c.history.size(); ++j) v[kStepHistoryAt + j] = float(c.history[j]);
  v[kStepWriteCountAt] = float(c.writes.size());
  for (size_t w = 0; w < c.writes.size(); ++w) {
    if (c.writes[w].slot < 0 || size_t(c.writes[w].slot) >= std::max<size_t>(c.history.size(), 1))
      fail("sched_step: history write to slot " + std::to_string(c.writes[w].slot) + " outside the " +
           std::to_string(c.history.size()) + " slots");
    float* o = &v[kStepWritesAt + 4 * w];
    o[0] = float(c.writes[w].slot);
    o[1] = float(c.writes[w].sample);
    o[2] = float(c.writes[w].model_output);
    o[3] = float(c.writes[w].x0);
  }
  return v;
}

}  // namespace ezivk::sched
