#pragma once
// Embedding lookup: y [T, D] = table [V, D] rows picked by ids, T uint32 values in a device slice (token ids
// come from the tokenizer, positions are 0..76). y has the table's dtype and may not share memory with it.
// The shader clamps ids to V - 1, so no id can read outside the table; when the caller also passes the ids
// it uploaded (host_ids), they are validated here and an out-of-range id is an Error instead.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/memory.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

void embedding(gpu::Context& ctx, gpu::Recorder& rec, const gpu::Slice& ids, uint32_t count, const Tensor& table,
               const Tensor& y, std::span<const uint32_t> host_ids = {});

// Clamps like the shader.
std::vector<float> embedding_ref(const std::vector<uint32_t>& ids, const std::vector<float>& table, int64_t rows,
                                 int64_t dim);

}  // namespace ezivk::ops
