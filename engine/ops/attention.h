#pragma once
// Multi-head scaled dot-product attention, flash-style (nothing of size tokens² in memory), over the keys of
// a first source followed by an optional second source (EZIGen's subject tokens) that is read in place,
// never concatenated. Optionally captures, for selected queries, what the viewer draws.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/gpu/recorder.h"
#include "engine/ops/tensor.h"

namespace ezivk::ops {

// Where a token-major operand's elements live inside its tensor's slice, in elements: token t of batch item
// b, channel c is at offset + b·batch_stride + t·row_stride + c. Lets Q/K/V be views into one fused
// [tokens, 3·H·D] buffer (row_stride 3·H·D, offsets 0, H·D, 2·H·D). Any head width D from 1 to 512 runs: when
// D and every view's offset and strides are multiples of 4 the kernels load 4 channels at a time; otherwise
// their `_any` variants load channels one by one (slower; the cooperative-matrix kernel has no such variant).
struct TokenView {
  int64_t offset = 0;
  int64_t row_stride = 0;     // 0: dense, H·D
  int64_t batch_stride = -1;  // -1: tokens·row_stride, or 0 when the tensor's batch is 1 (shared by all)
};

// Elements of `t`'s slice that `v` spans, from the slice's start through the view's last element (t is
// [batch, tokens, heads*D]): what a dispatch binds, and what must fit in the slice.
int64_t view_extent(const Tensor& t, const TokenView& v);

// Selected queries' attention over the second source (what the viewer draws): averaged over heads, or one head's.
struct AttentionCapture {
  gpu::Slice query_ids;  // uint32 [count], the same query indices for every batch item; ids ≥ Nq give zeros
  uint32_t count = 0;
  Tensor probs;          // f32 [B, count, Nk2]: probabilities of the second source's keys
  Tensor mass;           // f32 [B, count]: the share of probability that went to the second source
  gpu::Slice stats;      // scratch of attention_stats_bytes(B, heads, Nq) bytes: each query's final max and sum
  int32_t head = -1;     // -1: the mean over heads; 0..heads-1: that head alone
};

// Auto: the cooperative-matrix kernel where the device has cooperative matrices, a fixed subgroup size, fp16
// tensors and D = 64; otherwise the subgroup-broadcast kernel on CPU drivers (lavapipe), the shared-memory
// kernel elsewhere. Tests force each to cover them all on one device (forcing one the device cannot run fails).
enum class AttentionKernel { Auto, Shared, Subgroup, Coopmat };

struct AttentionArgs {
  // Shapes are logical, [batch, tokens, heads·D]; head h owns channels [h·D, h·D + D). K/V batch may be 1.
  Tensor q, k1, v1;
  Tensor out;  // [B, Nq, H·D], same dtype as q; must not overlap any input
  TokenView q_view, k1_view, v1_view, out_view;
  std::optional<Tensor> k2, v2;  // second source [B or 1, Nk2, H·D]
  TokenView k2_view, v2_view;
  float w2 = 1.f;  // multiplies the second source's keys and values
  int heads = 1;
  float scale = 0.f;    // 0: 1/√D
  bool causal = false;  // query i sees first-source keys j ≤ i (needs Nq == Nk1); second-source keys all
  std::optional<AttentionCapture> capture;
  AttentionKernel kernel = AttentionKernel::Auto;
};

void attention(gpu::Context& ctx, gpu::Recorder& rec, const AttentionArgs& args);
// Why the cooperative-matrix kernel cannot run on this device for fp16 heads of 64, or "" when it can.
std::string attention_coopmat_unavailable(const gpu::Context& ctx);
uint64_t attention_stats_bytes(int64_t batch, int64_t heads, int64_t nq);

// The CPU reference, in double, on dense host arrays [batch or 1, tokens, heads·D] (k2/v2 empty: no second
// source). A batch of 1 in k1/v1/k2/v2 is shared by every batch item.
struct AttentionShape {
  int64_t batch = 1, nq = 1, nk1 = 1, nk2 = 0, heads = 1, head_dim = 64;
  int64_t kv1_batch = 1, kv2_batch = 1;  // 1 or batch
  float w2 = 1.f, scale = 0.f;
  bool causal = false;
};
std::vector<float> attention_ref(const AttentionShape& s, const std::vector<float>& q, const std::vector<float>& k1,
                                 const std::vector<float>& v1, const std::vector<float>& k2, const std::vector<float>& v2);
struct AttentionCaptureRef {
  std::vector<float> probs;  // [B, ids, Nk2]
  std::vector<float> mass;   // [B, ids]
};
AttentionCaptureRef attention_capture_ref(const AttentionShape& s, const std::vector<float>& q,
                                          const std::vector<float>& k1, const std::vector<float>& k2,
                                          const std::vector<uint32_t>& ids, int32_t head = -1);

}  // namespace ezivk::ops
