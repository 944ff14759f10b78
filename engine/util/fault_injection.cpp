#include "engine/util/fault_injection.h"

#include <atomic>

namespace ezivk::faults {

namespace {

constexpr int kKinds = int(Kind::Count);
std::atomic<int64_t> g_armed[kKinds];   // 0: not armed
std::atomic<int64_t> g_calls[kKinds];
std::atomic<bool> g_any{false};

}  // namespace

void arm(Kind kind, int64_t nth) {
  g_calls[int(kind)] = 0;
  g_armed[int(kind)] = nth < 0 ? 0 : nth;
  bool any = false;
  for (int i = 0; i < kKinds; ++i) any = any || g_armed[i] != 0;
  g_any = any;
}

void disarm_all() {
  for (int i = 0; i < kKinds; ++i) {
    g_armed[i] = 0;
    g_calls[i] = 0;
  }
  g_any = false;
}

bool should_fail(Kind kind) {
  if (!g_any.load(std::memory_order_relaxed)) return false;
  const int64_t n = ++g_calls[int(kind)];
  return g_armed[int(kind)] == n;
}

int64_t calls(Kind kind) { return g_calls[int(kind)]; }

}  // namespace ezivk::faults
