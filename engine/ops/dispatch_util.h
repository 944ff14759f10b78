#pragma once
// Grid helpers shared by ops: 1-D work split over x and y when it exceeds the device's x limit.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "engine/gpu/context.h"
#include "engine/util/error.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

inline uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};

// Groups for `items` work items of `per_group` each, folded into y when x would exceed the limit. Shaders
// index as gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x.
inline Grid grid_1d(const gpu::Context& ctx, uint64_t items, uint32_t per_group) {
  const uint64_t groups = (items + per_group - 1) / per_group;
  const uint64_t maxx = ctx.caps().max_workgroup_count[0];
  if (groups <= maxx) return {uint32_t(groups ? groups : 1), 1, 1};
  const uint64_t y = (groups + maxx - 1) / maxx;
  if (y > ctx.caps().max_workgroup_count[1]) fail("a dispatch of " + std::to_string(items) + " items is too large for this device");
  return {uint32_t((groups + y - 1) / y), uint32_t(y), 1};
}

// A view that starts at an arbitrary byte offset: the slice to bind starts at the alignment below it, and the
// shader adds `elements` to its indices.
struct AlignedView {
  gpu::Slice slice;
  uint32_t elements = 0;
};
inline AlignedView aligned_view(const gpu::Context& ctx, const gpu::Slice& s, size_t elem_bytes) {
  const uint64_t align = ctx.caps().min_storage_offset_alignment ? ctx.caps().min_storage_offset_alignment : 1;
  const uint64_t lead = s.offset % align;
  if (lead % elem_bytes) fail("a tensor view starts inside an element");
  return {{s.buffer, s.offset - lead, s.size + lead, s.host ? s.host - lead : nullptr}, uint32_t(lead / elem_bytes)};
}

// How many rows one dispatch may take when each binding it makes spans rows·row_bytes[i] bytes (plus the up to
// minStorageBufferOffsetAlignment bytes an aligned_view adds in front): the largest multiple of `granule` that
// fits the device's storage-buffer range, or all `rows` when they fit. Ops whose tensors can outgrow one binding
// (the feed-forward's 8·C intermediate at large sizes) record one dispatch per run of rows.
inline uint64_t rows_per_binding(const gpu::Context& ctx, const char* op, std::initializer_list<uint64_t> row_bytes,
                                 uint64_t rows, uint64_t granule = 1) {
  const uint64_t range = ctx.caps().max_storage_buffer_range, lead = ctx.caps().min_storage_offset_alignment;
  uint64_t widest = 1;
  for (uint64_t b : row_bytes) widest = std::max(widest, b);
  if (widest * rows + lead <= range) return rows;
  const uint64_t fit = range > lead ? (range - lead) / widest / granule * granule : 0;
  if (fit == 0)
    fail(std::string(op) + ": " + std::to_string(granule) + " rows of " + std::to_string(widest) +
         " bytes do not fit the device's storage-buffer range of " + std::to_string(range) + " bytes");
  return fit;
}

// The pipeline suffix for a storage dtype.
inline const char* variant(DType t) { return t == DType::F16 ? "f16" : "f32"; }

}  // namespace ezivk::ops
