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
  struct {
    uint32_t n, dim, rows;
  } push{uint32_t(y.numel()), uint32_t(table.dim(1)), uint32_t(table.dim(0))};
  const Grid g = grid_1d(ctx, uint64_t(y.numel()), kWg);
  rec.dispatch(pl, {{id_bytes, gpu::Access::Read}, bind(table, gpu::Access::Read), bind(y, gpu::Access::Write)}, push,
               g.x, g.y, 1, kOp);
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
