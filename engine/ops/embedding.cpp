#include "engine/ops/embedding.h"

#include <algorithm>
#include <string>

#include "engine/ops/dispatch_util.h"
#include "engine/ops/op_checks.h"

namespace ezivk::ops {

namespace {
constexpr const char* kOp = "embedding";
constexpr uint32_t kWg = 256;
}  // namespace

void embedding(gpu::Context& ctx, gpu::Recorder& rec, const gpu::Slice& ids, uint32_t count, const Tensor& table,
               const Tensor& y, std::span<const uint32_t> host_ids) {
  const std::string op = kOp;
  if (!ids) fail(op + ": ids is an empty slice");
  if (count == 0) fail(op + ": ids must hold at least one id");
  if (uint64_t(count) * 4 > ids.size)
    fail(op + ": ids holds " + std::to_string(ids.size) + " bytes, too few for " + std::to_string(count) + " ids");
  expect_shape(kOp, "table", table, {-1, -1});
  expect_usable(ctx, kOp, "table", table);
  expect_shape(kOp, "y", y, {int64_t(count), table.dim(1)});
  expect_usable(ctx, kOp, "y", y);
  expect_dtype(kOp, "y", y, table.dtype);
  expect_disjoint(kOp, "y", y, "table", table);
  const gpu::Slice id_bytes = ids.sub(0, uint64_t(count) * 4);
  if (id_bytes.overlaps(used_bytes(y))) fail(op + ": y must not share memory with ids");
  if (!host_ids.empty()) {
    if (host_ids.size() != count)
      fail(op + ": host_ids has " + std::to_string(host_ids.size()) + " ids but count is " + std::to_string(count));
    for (size_t i = 0; i < host_ids.size(); ++i)
      if (host_ids[i] >= uint64_t(table.dim(0)))
        fail(op + ": ids[" + std::to_string(i) + "] = " + std::to_string(host_ids[i]) + " is outside the table's " +
             std::to_string(table.dim(0)) + " rows");
  }

  const uint32_t spec[] = {kWg};
  const auto& pl = ctx.pipeline(std::string("embedding/embedding_") + variant(table.dtype), spec);
  // SD2's token table in fp32 (193 MiB) is over lavapipe's 128 MiB range: bind it in runs of rows, and the
  // tokens (ids and outputs) in runs too, one dispatch per pair.
  const uint64_t rows = uint64_t(table.dim(0)), es = dtype_bytes(table.dtype), row_bytes = uint64_t(table.dim(1)) * es;
  const uint64_t run = rows_per_binding(ctx, kOp, {row_bytes}, rows);
  const uint64_t token_run = rows_per_binding(ctx, kOp, {row_bytes, 4}, count);
  for (uint64_t t0 = 0; t0 < count; t0 += token_run) {
    const uint64_t nt = std::min<uint64_t>(token_run, count - t0);
    const gpu::Slice ids_run = id_bytes.sub(t0 * 4, nt * 4);  // 4-byte ids: an aligned_view's lead is whole ids
    const AlignedView iv = aligned_view(ctx, ids_run, 4);
    const AlignedView yv = aligned_view(ctx, y.data.sub(t0 * row_bytes, nt * row_bytes), es);
    const Grid g = grid_1d(ctx, nt * uint64_t(table.dim(1)), kWg);
    for (uint64_t r0 = 0; r0 < rows; r0 += run) {
      const uint64_t n = std::min(run, rows - r0);
      const AlignedView tv = aligned_view(ctx, table.data.sub(r0 * row_bytes, n * row_bytes), es);
      struct {
        uint32_t n, dim, rows, row0, run_rows, table_off, y_off, id_off;
      } push{uint32_t(nt * uint64_t(table.dim(1))), uint32_t(table.dim(1)), uint32_t(rows), uint32_t(r0), uint32_t(n),
             tv.elements, yv.elements, iv.elements};
      rec.dispatch(pl, {{iv.slice, gpu::Access::Read}, {tv.slice, gpu::Access::Read}, {yv.slice, gpu::Access::Write}},
                   push, g.x, g.y, 1, kOp);
    }
  }
}

std::vector<float> embedding_ref(const std::vector<uint32_t>& ids, const std::vector<float>& table, int64_t rows,
                                 int64_t dim) {
  std::vector<float> y;
  y.reserve(ids.size() * size_t(dim));
  for (uint32_t id : ids) {
    const int64_t r = std::min<int64_t>(id, rows - 1);
    y.insert(y.end(), table.begin() + r * dim, table.begin() + (r + 1) * dim);
  }
  return y;
}

}  // namespace ezivk::ops
