#pragma once
// Ctrl-C during a long run: the first SIGINT asks the pipeline to stop after the current step (it throws
// pipeline::Cancelled, which main turns into exit status 130 with nothing written); a second one ends the process
// at once, as Ctrl-C normally does.
#include "engine/pipeline/cancel.h"

namespace ezivk::cli {

// While alive, SIGINT sets flag(); the previous handler comes back on destruction (the test binary runs commands
// in-process).
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const pipeline::CancelFlag& flag() const { return flag_; }

 private:
  pipeline::CancelFlag flag_;
  void (*previous_)(int) = nullptr;
};

// For tests of the whole path: raises SIGINT in this process after step `EZIVK_TEST_INTERRUPT_AFTER_STEP` (1-based)
// when that variable is set, as a user pressing Ctrl-C would.
void maybe_test_interrupt(int steps_done);

}  // namespace ezivk::cli
