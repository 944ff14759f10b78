#include "engine/models/graph_runner.h"

#include "engine/util/error.h"

namespace ezivk::models {

GraphRunner::GraphRunner(gpu::Context& ctx, std::string name, bool timing)
    : ctx_(ctx), name_(std::move(name)), rec_(ctx, timing) {}

GraphRunner::Plan GraphRunner::plan_forward(gpu::Context& ctx, DType dtype, const std::function<Act(Graph&)>& forward) {
  Graph g = Graph::planning(ctx, dtype);
  {
    Act out = forward(g);
  }
  return {g.peak(), g.widest_binding()};
}

uint64_t GraphRunner::plan(gpu::Context& ctx, const std::string& name, DType dtype,
                           const std::function<Act(Graph&)>& forward) {
  const Plan p = plan_forward(ctx, dtype, forward);
  if (!p.fits(ctx))
    fail(name + ": " + p.widest.describe() + ", over this device's storage-buffer range of " +
         gpu::format_bytes(ctx.caps().max_storage_buffer_range));
  return p.activation_bytes;
}

void GraphRunner::reserve(uint64_t bytes) {
  if (arena_ && arena_->capacity() >= bytes) return;
  if (arena_ && rec_.recording())
    fail(name_ + ": the activation arena must grow to " + gpu::format_bytes(bytes) +
         " while recorded commands still use it; reserve the largest plan before recording");
  arena_.reset();
  arena_ = std::make_unique<gpu::Arena>(ctx_, name_ + " activations", std::max<uint64_t>(bytes, 256),
                                        gpu::MemoryUse::Device);
}

Tensor GraphRunner::run(DType dtype, const std::function<Act(Graph&)>& forward, const DumpOptions* dump) {
  const Tensor out = record(dtype, forward, dump);
  rec_.submit_and_wait();
  return out;
}

Tensor GraphRunner::record(DType dtype, const std::function<Act(Graph&)>& forward, const DumpOptions* dump) {
  const uint64_t need = std::max<uint64_t>(plan(dtype, forward), 256);
  reserve(need);  // frees the old arena first: peak device memory is what users budget
  arena_->reset();
  const gpu::Slice mem = arena_->alloc(need, 256);
  Graph g(ctx_, rec_, mem, dtype, dump);
  Tensor result;
  {
    Act out = forward(g);
    result = out.t();
  }
  return result;
}

}  // namespace ezivk::models
