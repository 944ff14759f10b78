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
      adapter->forward(g, adapter->block(block), hidden, kv_.at(block));
    };
  } else {
    on_.attn1_second_source = [this](const std::string& block) { return &sources_.at(block); };
  }
}

}  // namespace ezivk::pipeline
