#pragma once
// Stopping a run from outside: the CLI's Ctrl-C handler and the viewer's Stop button set the flag (from any thread,
// or a signal handler: it is a lock-free atomic), the pipeline checks it between GPU submits and throws Cancelled,
// so the run ends after the current step and nothing half-done is written.
#include <atomic>

#include "engine/gpu/recorder.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

class CancelFlag {
 public:
  void request() { set_.store(true, std::memory_order_relaxed); }
  void clear() { set_.store(false, std::memory_order_relaxed); }
  bool requested() const { return set_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> set_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
};

// Thrown by a pipeline that saw the flag; not a failure of the run's inputs.
struct Cancelled : Error {
  Cancelled() : Error("cancelled") {}
};

inline void throw_if_cancelled(const CancelFlag* flag) {
  if (flag && flag->requested()) throw Cancelled();
}

// With split submits (ContextOptions::submit_every, the viewer's setting) the flag is also checked after every piece,
// so a Stop lands within a step instead of after it.
inline void cancel_between_pieces(gpu::Recorder& rec, const CancelFlag* flag) {
  if (flag) rec.set_after_piece([flag] { throw_if_cancelled(flag); });
}

}  // namespace ezivk::pipeline
