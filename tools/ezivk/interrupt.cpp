#include "tools/ezivk/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>

namespace ezivk::cli {

namespace {

std::atomic<pipeline::CancelFlag*> g_flag{nullptr};
static_assert(std::atomic<pipeline::CancelFlag*>::is_always_lock_free);

extern "C" void on_sigint(int) {
  pipeline::CancelFlag* f = g_flag.load();
  if (f && !f->requested()) {
    f->request();
    return;
  }
  std::signal(SIGINT, SIG_DFL);
  std::raise(SIGINT);
}

}  // namespace

InterruptScope::InterruptScope() {
  g_flag.store(&flag_);
  previous_ = std::signal(SIGINT, on_sigint);
}

InterruptScope::~InterruptScope() {
  std::signal(SIGINT, previous_ == SIG_ERR ? SIG_DFL : previous_);
  g_flag.store(nullptr);
}

void maybe_test_interrupt(int steps_done) {
  const char* v = std::getenv("EZIVK_TEST_INTERRUPT_AFTER_STEP");
  if (v && *v && std::atoi(v) == steps_done) std::raise(SIGINT);
}

}  // namespace ezivk::cli
