#pragma once
// Test-only failure points, so tests can show that every failure gives one clear error, no leak, no hang and no
// half-written output. arm(kind, n) makes the n-th call of that kind from now on fail the way the real failure
// does: Alloc = vkAllocateMemory answers VK_ERROR_OUT_OF_DEVICE_MEMORY, Submit = vkQueueSubmit answers
// VK_ERROR_DEVICE_LOST, Write = a file write fails with EIO, Hang = a submitted fence never signals (the wait runs
// into the timeout). Unarmed, should_fail() is one relaxed atomic load.
#include <cstdint>

namespace ezivk::faults {

enum class Kind { Alloc, Submit, Write, Hang, Count };

void arm(Kind kind, int64_t nth);  // nth >= 1; 0 disarms
void disarm_all();
// Counts a call of `kind`; true exactly when it is the armed one.
bool should_fail(Kind kind);
// Calls of `kind` counted since it was last armed (to size loops over every failure point).
int64_t calls(Kind kind);

}  // namespace ezivk::faults
