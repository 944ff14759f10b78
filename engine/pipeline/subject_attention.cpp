#include "engine/pipeline/subject_attention.h"

#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

SubjectAttention::SubjectAttention(StableDiffusion& sd, const EzigenWeights* weights, SubjectMode mode, float strength,
                                   models::GraphRunner& runner, const std::vector<SubjectImage>& subjects,
                                   int t_subject, TorchGenerator& gen_b) {
  if (mode == SubjectMode::Adapter && (!weights || !weights->adapter))
    fail("EZIGen's adapter mode needs adapter weights (--adapter); without them choose --reference-attention");
  gpu::Context& ctx = *sd.ctx;
  runner.reserve(subject_pass_plan(sd, int(subjects.size())));
  bank_ = encode_subjects(sd, runner, subjects, t_subject, gen_b);

  const auto tblocks = sd.unet.model->transformer_blocks();
  const int64_t mult = mode == SubjectMode::Adapter ? 2 : 3;  // [k | v], or attn1's whole [q | k | v]
  uint64_t bytes = 0;
  for (auto* b : tblocks)
    bytes += (uint64_t(bank_.tokens.at(b->name).dim(1)) * mult * b->dim * ops::dtype_bytes(sd.dtype) + 255) / 256 * 256;
  kv_arena_ = gpu::Arena(ctx, "subject keys/values", std::max<uint64_t>(bytes, 256), gpu::MemoryUse::Device);
  for (auto* b : tblocks) {
    const int64_t Ns = bank_.tokens.at(b->name).dim(1), C = b->dim;
    Tensor t{{}, sd.dtype, {1, Ns, mult * C}};
    t.data = kv_arena_.alloc(t.bytes(), 256);
    kv_[b->name] = t;
    if (mode == SubjectMode::Reference) {
      models::SecondSource s;
      s.k = Tensor{t.data, sd.dtype, {1, Ns, C}};
      s.v = s.k;
      s.k_view = {C, 3 * C};
      s.v_view = {2 * C, 3 * C};
      s.weight = strength;
      sources_[b->name] = s;
    }
  }
  runner.run(sd.dtype, [&](Graph& g) {
    for (auto* b : tblocks) {
      const Tensor& tokens = bank_.tokens.at(b->name);
      const Tensor& w = mode == SubjectMode::Adapter ? weights->adapter->block(b->name).kv.w : b->qkv1.w;
      g.linear(tokens, w, std::nullopt, kv_.at(b->name));
    }
    return g.alloc({1});
  });

  unet_ = mode == SubjectMode::Adapter ? &weights->generating_unet(sd) : sd.unet.model.get();
  if (mode == SubjectMode::Adapter) {
    const models::EzigenAdapter* adapter = weights->adapter.get();
    on_.extra_attention = [this, adapter](Graph& g, const std::string& block, const Tensor&, const Tensor& hidden) {
      auto it = captures_.find(block);
      adapter->forward(g, adapter->block(block), hidden, kv_.at(block), it == captures_.end() ? nullptr : &it->second);
    };
  } else {
    on_.attn1_second_source = [this](const std::string& block) { return &sources_.at(block); };
    on_.capture = [this](const std::string& block) -> const ops::AttentionCapture* {
      auto it = captures_.find(block);
      return it == captures_.end() ? nullptr : &it->second;
    };
  }
}

void SubjectAttention::capture(gpu::Context& ctx, const std::vector<CaptureSpec>& specs, int64_t unet_batch) {
  captures_.clear();
  capture_ids_.clear();
  capture_arena_ = gpu::Arena();
  if (specs.empty()) return;
  auto up = [](uint64_t b) { return (b + 255) / 256 * 256; };
  uint64_t bytes = 0;
  for (const auto& s : specs) {
    if (!bank_.tokens.count(s.block)) fail("attention capture: no transformer block '" + s.block + "'");
    if (s.query_ids.empty()) fail("attention capture: no query positions for " + s.block);
    const int64_t ns = bank_.tokens.at(s.block).dim(1), q = int64_t(s.query_ids.size());
    bytes += up(uint64_t(q) * 4) + up(uint64_t(unet_batch * q * ns) * 4) + up(uint64_t(unet_batch * q) * 4) +
             up(ops::attention_stats_bytes(unet_batch, heads_of(s.block), s.tokens));
  }
  capture_arena_ = gpu::Arena(ctx, "attention capture", bytes + 1024, gpu::MemoryUse::Device);
  for (const auto& s : specs) {
    const int64_t ns = bank_.tokens.at(s.block).dim(1), q = int64_t(s.query_ids.size());
    const int64_t heads = heads_of(s.block);
    ops::AttentionCapture c;
    c.query_ids = capture_arena_.alloc(uint64_t(q) * 4, 256);
    ctx.upload(c.query_ids, s.query_ids.data(), uint64_t(q) * 4);
    c.count = uint32_t(q);
    c.probs = Tensor{capture_arena_.alloc(uint64_t(unet_batch * q * ns) * 4, 256), ops::DType::F32, {unet_batch, q, ns}};
    c.mass = Tensor{capture_arena_.alloc(uint64_t(unet_batch * q) * 4, 256), ops::DType::F32, {unet_batch, q}};
    c.stats = capture_arena_.alloc(ops::attention_stats_bytes(unet_batch, heads, s.tokens), 256);
    captures_[s.block] = c;
    capture_ids_[s.block] = s.query_ids;
  }
}

void SubjectAttention::set_capture_head(int head) {
  for (auto& [block, c] : captures_) {
    const int64_t heads = heads_of(block);
    if (head < -1 || head >= heads)
      fail("attention capture: head " + std::to_string(head) + " is out of range for block " + block + ", which has " +
           std::to_string(heads) + " head" + (heads == 1 ? "" : "s") + " (-1 is the mean over them)");
    c.head = head;
  }
}

int64_t SubjectAttention::heads_of(const std::string& block) const {
  for (auto* b : unet_->transformer_blocks())
    if (b->name == block) return b->heads;
  fail("attention capture: no transformer block '" + block + "'");
}

std::vector<SubjectAttention::Captured> SubjectAttention::download_captures(gpu::Context& ctx) const {
  std::vector<Captured> out;
  for (const auto& [block, c] : captures_) {
    Captured k{block, capture_ids_.at(block), c.probs.shape, std::vector<float>(size_t(c.probs.numel())),
               std::vector<float>(size_t(c.mass.numel())), c.head};
    ctx.download(c.probs.data, k.probs.data(), k.probs.size() * 4);
    ctx.download(c.mass.data, k.mass.data(), k.mass.size() * 4);
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace ezivk::pipeline
