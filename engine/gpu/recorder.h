#pragma once
// Records many dispatches into one command buffer. It tracks which byte ranges each dispatch reads and
// writes since the last barrier and inserts a compute->compute memory barrier only where a later command
// touches a range an earlier one wrote (or writes a range an earlier one read). Optional GPU timestamps
// around every dispatch.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gpu/handle.h"
#include "engine/gpu/memory.h"
#include "engine/gpu/pipeline.h"

namespace ezivk::gpu {

class Context;

// The next piece size after a piece of `current` commands took `measured_ms` (submit to completion), aiming at
// `target_ms`: scaled by target / measured, by at most a factor of two either way per piece (pieces mix heavy and light
// commands, so one piece's time is a noisy estimate), within [kMinPiece, kMaxPiece].
inline constexpr uint32_t kMinPiece = 4, kMaxPiece = 4096;
uint32_t adapt_piece_size(uint32_t current, double measured_ms, double target_ms);

enum class Access { Read, Write, ReadWrite };

struct Bind {
  Slice slice;
  Access access = Access::Read;
};

struct DispatchTiming {
  std::string label;
  double ms = 0;
};

class Recorder {
 public:
  explicit Recorder(Context& ctx, bool timing = false);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // binds[i] goes to binding i. Group counts past the device limit are an Error naming the label.
  void dispatch(const Pipeline& p, std::span<const Bind> binds, const void* push, uint32_t push_bytes, uint32_t gx,
                uint32_t gy = 1, uint32_t gz = 1, std::string_view label = {});
  template <class Push>
  void dispatch(const Pipeline& p, std::initializer_list<Bind> binds, const Push& push, uint32_t gx, uint32_t gy = 1,
                uint32_t gz = 1, std::string_view label = {}) {
    dispatch(p, std::span<const Bind>(binds.begin(), binds.size()), &push, sizeof(Push), gx, gy, gz, label);
  }
  void copy(const Slice& src, const Slice& dst, uint64_t bytes);
  void fill(const Slice& dst, uint32_t value);  // whole slice, 4-byte pattern
  // An execution barrier from every stage of every earlier command, this submission's and earlier submissions' (other
  // threads' work on the same queue, such as a window's draws), to transfers: a copy after it cannot overwrite memory
  // an earlier submission still reads.
  void order_after_earlier_submissions();

  // Submits, waits (Context's timeout) and makes results host-visible; the recorder is then empty and reusable.
  void submit_and_wait();
  // Submit (and wait for) every `commands` recorded commands as they are recorded, 0: never (the default is the
  // context's submit_every). Each piece ends with a full barrier, so the split changes no result: it bounds how
  // long another thread's submit to the same queue waits, and it costs a host round trip per piece.
  void set_submit_every(uint32_t commands) { submit_every_ = commands; }
  // With a target (> 0 ms; the default is the context's piece_ms), the piece size adapts after every piece towards
  // the number of commands that take about that long on this device (adapt_piece_size): a fixed count is far too long
  // a wait at large sizes and needlessly many round trips at small ones. 0: the count stays as set.
  void set_piece_target_ms(double ms) { piece_target_ms_ = ms; }
  uint32_t piece_size() const { return submit_every_; }  // the current one (0: no pieces)
  // Called after each such piece has finished; may throw (a Stop request), which leaves the recorder empty and
  // reusable and the rest of the work unrecorded.
  void set_after_piece(std::function<void()> hook) { after_piece_ = std::move(hook); }

  // Counted since construction.
  uint32_t dispatch_count() const { return dispatches_; }
  uint32_t barrier_count() const { return barriers_; }
  uint32_t submit_count() const { return submits_; }
  // Timings of the last submit_and_wait (all its pieces), in recording order (empty when timing is off or unsupported).
  const std::vector<DispatchTiming>& timings() const { return timings_; }
  bool timing_supported() const { return timing_; }
  // Whether commands have been recorded and not yet submitted. (A command buffer is begun again right after every
  // submit, so an open one alone says nothing.)
  bool recording() const { return recording_ && pending_commands_ > 0; }

  // Test-only: without automatic barriers, synchronization validation must report the hazards.
  void set_auto_barriers(bool on) { auto_barriers_ = on; }

 private:
  void begin();
  void hazard_check(std::span<const Bind> binds);
  void barrier();
  void after_command();  // counts a recorded command; submits a piece when submit_every_ is reached
  void flush();          // ends, submits and waits for what is recorded, and begins again
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);
  // After a timed-out submit: wait (bounded) for it before the command buffer or pools are touched again.
  // Returns false when the work is still running.
  bool settle_pending();

  Context& ctx_;
  Handle<VkCommandPool> pool_;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  std::vector<Handle<VkDescriptorPool>> pools_;
  uint32_t sets_in_pool_ = 0;
  Handle<VkQueryPool> queries_;
  Handle<VkFence> fence_;
  bool pending_ = false;
  bool timing_ = false, auto_barriers_ = true, recording_ = false;
  uint32_t query_count_ = 0;
  std::vector<std::string> labels_;
  std::vector<DispatchTiming> timings_, chunk_timings_;
  uint32_t submit_every_ = 0, submits_ = 0;
  double piece_target_ms_ = 0;
  std::function<void()> after_piece_;
  std::vector<Slice> pending_writes_, pending_reads_;
  uint32_t dispatches_ = 0, barriers_ = 0;
  uint32_t pending_commands_ = 0;  // dispatches, copies and fills since begin()
};

}  // namespace ezivk::gpu
