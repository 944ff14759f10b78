#pragma once
// The Vulkan instance, the chosen device and its compute queue, plus the services every op uses:
// pipelines (created on first use, cached on disk), host<->device transfers and validation bookkeeping.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/gpu/device_caps.h"
#include "engine/gpu/handle.h"
#include "engine/gpu/memory.h"
#include "engine/gpu/pipeline.h"

namespace ezivk::gpu {

struct ContextOptions {
  // Enable VK_LAYER_KHRONOS_validation; every message it prints is kept (validation_messages()).
  bool validation = false;
  // Also turn on the layer's synchronization validation (catches missing barriers).
  bool sync_validation = false;
  // Device by index ("1") or case-insensitive name substring ("llvmpipe"). Empty: $EZIVK_DEVICE, else the
  // best device (discrete > integrated > virtual > cpu).
  std::string device;
  // Debug switches, also read from $EZIVK_FORCE_FP32=1 and $EZIVK_NO_COOPMAT=1.
  bool force_fp32 = false;
  bool no_coopmat = false;
  // Use the cooperative-matrix kernels on CPU drivers too, where the portable kernels are faster and they are
  // therefore not chosen by default ($EZIVK_FORCE_COOPMAT=1). no_coopmat wins.
  bool force_coopmat = false;
  // The fragment shape by name ("8x8x8", "16x16x16/f16acc"; $EZIVK_COOPMAT_SHAPE); empty: pick_coopmat_shape's.
  std::string coopmat_shape;
  // Check each cooperative-matrix kernel against the portable one before first use (engine/ops/coopmat_check.h).
  // Tests of the kernels themselves turn it off so a broken kernel fails them instead of being replaced.
  bool coopmat_selfcheck = true;
  // Where the VkPipelineCache lives; empty: $EZIVK_CACHE_DIR, $XDG_CACHE_HOME/ezivk or ~/.cache/ezivk.
  // "-" disables the on-disk cache.
  std::string cache_dir;
  // Never map device-local memory, so every host copy takes the staging path (tests use it to cover that
  // path on drivers such as lavapipe whose device memory is host-visible).
  bool staging_only = false;
  // Treat the device's maxStorageBufferRange as at most this many bytes (0: the device's own;
  // $EZIVK_MAX_STORAGE_RANGE, bytes or with a K/M/G suffix). Lets lavapipe stand in for devices with a small range,
  // so the split dispatches and tiled decoding that large sizes need are tested on every machine.
  uint64_t max_storage_range = 0;
  // Extensions the caller needs besides the engine's own (the viewer: the window system's surface extensions on the
  // instance, VK_KHR_swapchain on the device). Without a device named, only devices offering them are chosen; one
  // that is missing is an Error naming it.
  std::vector<std::string> instance_extensions, device_extensions;
  // A condition the queue's family must meet besides compute (the viewer: graphics, and presentation to its
  // window). Without a device named, only devices with such a family are chosen; otherwise an Error names the device.
  std::function<bool(VkInstance, VkPhysicalDevice, uint32_t family)> queue_family_ok;
  // Also create a second queue of the same family for another thread's work (the viewer's frames: ui_queue()), where
  // the family has one (engine/gpu/queue_plan.h). Without one, ui_queue() is the engine's queue, shared.
  bool ui_queue = false;
  // Recorders split their work into submits of at most this many commands (0: one submit per submit_and_wait), so
  // another thread's submit to the one queue (the viewer's frames) waits for one piece instead of a whole UNet step.
  // $EZIVK_SUBMIT_EVERY sets it for any command (to measure what the split costs).
  uint32_t submit_every = 0;
  // With submit_every set, recorders adapt their piece size so that a piece takes about this long (Recorder::
  // set_piece_target_ms); 0 keeps submit_every fixed.
  double piece_ms = 0;
};

// The on-disk cache folder: `configured` (ContextOptions::cache_dir), else $EZIVK_CACHE_DIR, $XDG_CACHE_HOME/ezivk or
// ~/.cache/ezivk; "" when disabled ("-").
std::string cache_dir_for(const std::string& configured);

// Whether cooperative-matrix kernels are chosen without being forced: on GPUs. On CPU drivers the portable
// kernels are faster (docs/kernels.md), so there they run only with force_coopmat.
bool coopmat_by_default(const DeviceCaps& caps);

// Lists every physical device's capabilities without creating a logical device.
std::vector<DeviceCaps> enumerate_devices(bool validation = false);

class Context {
 public:
  explicit Context(ContextOptions options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkInstance instance() const { return instance_.get(); }
  VkPhysicalDevice physical() const { return physical_; }
  VkDevice device() const { return device_.get(); }
  VkQueue queue() const { return queue_; }
  // The caller's own queue (ContextOptions::ui_queue) when the device had a second one, else queue().
  VkQueue ui_queue() const { return ui_queue_ ? ui_queue_ : queue_; }
  bool separate_ui_queue() const { return ui_queue_ != VK_NULL_HANDLE; }
  uint32_t queue_family() const { return queue_family_; }
  const DeviceCaps& caps() const { return caps_; }

  // What kernels may use on this device after the debug switches.
  bool fp16() const { return fp16_; }
  // Cooperative-matrix kernels may be chosen (the device has a usable shape, fp16, and the switches allow).
  // Each kernel still passes its self-check first (ops::coopmat_allowed).
  bool coopmat() const { return coopmat_; }
  // The shape they are specialised for; valid when coopmat().
  const CoopMatShape& coopmat_shape() const { return coopmat_shape_; }
  bool coopmat_selfcheck() const { return opt_.coopmat_selfcheck; }
  // The folder of the on-disk caches (pipelines, cooperative-matrix verdicts); empty when disabled.
  const std::string& cache_dir() const { return cache_dir_; }
  // Verdicts of the cooperative-matrix self-check by kernel name, kept for the context's life.
  std::optional<bool> coopmat_verdict(const std::string& kernel) const;
  void set_coopmat_verdict(const std::string& kernel, bool ok);
  uint32_t storage_alignment() const { return storage_alignment_; }
  bool staging_only() const { return opt_.staging_only; }
  uint32_t submit_every() const { return opt_.submit_every; }
  double piece_ms() const { return opt_.piece_ms; }
  // For recorders made from now on (the viewer: none once frames have their own queue).
  void set_submit_every(uint32_t commands) { opt_.submit_every = commands; }
  void set_piece_ms(double ms) { opt_.piece_ms = ms; }

  // Pipelines by embedded shader name ("gemm/gemm_f16"), specialization constants in id order 0, 1, ….
  // Created on first use; the same arguments return the same pipeline.
  const Pipeline& pipeline(std::string_view shader, std::span<const uint32_t> spec = {});

  // Synchronous copies between host memory and a slice. Direct for host-visible slices, else through staging.
  void upload(const Slice& dst, const void* src, uint64_t bytes);
  void download(const Slice& src, void* dst, uint64_t bytes);

  // Validation layer messages (warnings and errors) received since creation or the last clear.
  std::vector<std::string> validation_messages() const;
  void clear_validation_messages();

  // Seconds a submit may run before it is reported as hung ($EZIVK_TIMEOUT_S, default 600).
  double submit_timeout_s() const { return timeout_s_; }
  void set_submit_timeout(double seconds) { timeout_s_ = seconds; }

  // The queue is shared by every thread (generation, the viewer's frames): whoever calls vkQueueSubmit or
  // vkQueuePresentKHR on it outside submit() holds this lock for the call.
  std::unique_lock<std::mutex> queue_lock() const { return std::unique_lock(queue_mu_); }
  // The same for ui_queue(): its own lock when it is a queue of its own, else queue_lock().
  std::unique_lock<std::mutex> ui_queue_lock() const { return std::unique_lock(ui_queue_ ? ui_queue_mu_ : queue_mu_); }

  // The transfers' command pool: only upload/download use it, under their own lock. Recorders own their pools.
  VkCommandPool command_pool() const { return pool_.get(); }
  void submit_and_wait(VkCommandBuffer cb, double timeout_s) const;
  // Submits with `fence` (unsignaled) and waits; on timeout throws, leaving the fence to signal later.
  void submit_and_wait(VkCommandBuffer cb, VkFence fence, double timeout_s) const;
  // The two halves: submit throws when the queue refused the work (the fence is then not pending); wait throws when
  // the fence did not signal within timeout_s (or the device was lost).
  void submit(VkCommandBuffer cb, VkFence fence) const;
  void wait(VkFence fence, double timeout_s) const;

  // Device memory held by this context's arenas right now (the soak benchmark watches it stay flat).
  uint64_t device_memory_live() const { return live_bytes_.load(); }
  void note_device_memory(int64_t delta) { live_bytes_ += uint64_t(delta); }

  void save_pipeline_cache() const;

  // Internal: the validation callback appends here.
  void add_validation_message(std::string m);

 private:
  void create_instance();
  void pick_device();
  void create_device();
  void load_pipeline_cache();
  void load_empty_pipeline_cache();
  void create_pipeline_cache(const std::vector<char>& data);

  ContextOptions opt_;
  Handle<VkInstance> instance_;
  Handle<VkDebugUtilsMessengerEXT> messenger_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  DeviceCaps caps_;
  Handle<VkDevice> device_;
  VkQueue queue_ = VK_NULL_HANDLE, ui_queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  Handle<VkCommandPool> pool_;
  Handle<VkPipelineCache> pipeline_cache_;
  std::string cache_path_;
  bool fp16_ = false, coopmat_ = false;
  CoopMatShape coopmat_shape_;
  std::string cache_dir_;
  std::unordered_map<std::string, bool> coopmat_verdicts_;
  uint32_t storage_alignment_ = 16;
  double timeout_s_ = 600;

  mutable std::mutex mu_;
  mutable std::mutex queue_mu_;  // vkQueueSubmit and present: the queue is externally synchronised
  mutable std::mutex ui_queue_mu_;
  std::mutex transfer_mu_;       // the staging arena and pool_
  std::atomic<uint64_t> live_bytes_{0};
  std::vector<std::string> messages_;
  std::unordered_map<std::string, std::unique_ptr<Pipeline>> pipelines_;
  std::unique_ptr<Arena> staging_;
};

}  // namespace ezivk::gpu
