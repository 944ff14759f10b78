#pragma once
// The coefficient block sched_step reads (f32 [kStepCoefficientFloats]): the op's whole contract with whoever
// computes a step, in plain numbers, so the op knows nothing of schedulers (engine/sched packs it).
//   [0] x̂0 = [0]·x + [1]·m, [2] clamp on/off, [3] clamp range
//   [4..7] x_next = [4]·x + [5]·m + [6]·x̂0 + [7]·noise, plus Σ_j [8 + j]·history_j
//   [16] number of history writes, then 4 floats each from [17]: slot, ·x, ·m, ·x̂0
#include <cstddef>

namespace ezivk::ops {

inline constexpr size_t kStepCoefficientFloats = 40;
inline constexpr size_t kStepMaxHistory = 8, kStepMaxWrites = 5;
inline constexpr size_t kStepHistoryAt = 8, kStepWriteCountAt = 16, kStepWritesAt = 17;
static_assert(kStepWritesAt + 4 * kStepMaxWrites <= kStepCoefficientFloats);
static_assert(kStepHistoryAt + kStepMaxHistory <= kStepWriteCountAt);

}  // namespace ezivk::ops
