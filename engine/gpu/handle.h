#pragma once
// Move-only owner for one Vulkan handle: the destroy function runs exactly once, when the owner dies.
#include <functional>
#include <utility>

namespace ezivk::gpu {

template <class H>
class Handle {
 public:
  Handle() = default;
  Handle(H h, std::function<void(H)> destroy) : h_(h), destroy_(std::move(destroy)) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : h_(std::exchange(o.h_, H{})), destroy_(std::move(o.destroy_)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, H{});
      destroy_ = std::move(o.destroy_);
    }
    return *this;
  }
  void reset() {
    if (h_ && destroy_) destroy_(h_);
    h_ = H{};
  }
  // Gives up ownership without destroying (for objects the GPU may still use after a timeout).
  H release() { return std::exchange(h_, H{}); }
  H get() const { return h_; }
  explicit operator bool() const { return h_ != H{}; }

 private:
  H h_{};
  std::function<void(H)> destroy_;
};

}  // namespace ezivk::gpu
