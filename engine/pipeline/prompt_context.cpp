#include "engine/pipeline/prompt_context.h"

#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

int64_t prompt_sequence_length(const StableDiffusion& sd) {
  return sd.tokenizer ? sd.tokenizer->max_length() : sd.text.config.max_position_embeddings;
}

models::TokenizedPrompt tokenize_prompt(const StableDiffusion& sd, const std::string& text,
                                        const std::optional<std::vector<int32_t>>& ids) {
  const int64_t len = prompt_sequence_length(sd);
  models::TokenizedPrompt t;
  if (ids) {
    if (int64_t(ids->size()) != len)
      fail("token ids must number " + std::to_string(len) + ", got " + std::to_string(ids->size()));
    t.ids = *ids;
    t.length = int32_t(ids->size());
  } else {
    if (!sd.tokenizer) fail(sd.source + " has no tokenizer: prompts must be given as token ids");
    t = sd.tokenizer->encode(text);
  }
  for (auto id : t.ids)
    if (id < 0 || id >= sd.text.config.vocab_size)
      fail("token id " + std::to_string(id) + " is outside the text encoder's vocabulary of " +
           std::to_string(sd.text.config.vocab_size));
  return t;
}

PromptContext encode_prompts(StableDiffusion& sd, models::GraphRunner& runner, const PromptPair& in, int64_t batch,
                             bool guided, const EventSink& events) {
  gpu::Context& ctx = *sd.ctx;
  const int64_t seq = prompt_sequence_length(sd), hidden = sd.text.config.hidden_size, prompts = guided ? 2 : 1;
  PromptContext pc;
  pc.guided = guided;
  pc.batch = batch;
  pc.prompt_tokens = tokenize_prompt(sd, in.prompt, in.prompt_ids);
  if (guided) pc.negative_tokens = tokenize_prompt(sd, in.negative, in.negative_ids);
  for (auto* t : {&pc.prompt_tokens, &pc.negative_tokens})
    if (t->truncated && events)
      events(Notice{std::string(t == &pc.prompt_tokens ? "prompt" : "negative prompt") + " is longer than " +
                    std::to_string(seq - 2) + " tokens; " + std::to_string(t->dropped) + " were dropped"});

  const int64_t UB = pc.unet_batch();
  const uint64_t ab = ops::dtype_bytes(sd.dtype), row = uint64_t(seq * hidden) * ab;
  const uint64_t ids_bytes = (uint64_t(prompts * seq) * 4 + 255) / 256 * 256;
  pc.arena = gpu::Arena(ctx, "prompt context", ids_bytes + UB * row + 256, gpu::MemoryUse::Device);
  const gpu::Slice ids_slice = pc.arena.alloc(ids_bytes, 256);
  pc.context = Tensor{pc.arena.alloc(UB * row, 256), sd.dtype, {UB, seq, hidden}};

  std::vector<uint32_t> ids;
  if (guided) ids.insert(ids.end(), pc.negative_tokens.ids.begin(), pc.negative_tokens.ids.end());
  ids.insert(ids.end(), pc.prompt_tokens.ids.begin(), pc.prompt_tokens.ids.end());
  ctx.upload(ids_slice, ids.data(), ids.size() * 4);
  const Tensor out = runner.record(sd.dtype, [&](Graph& g) { return sd.text.model->forward(g, ids_slice, prompts, seq); });
  for (int64_t u = 0; u < UB; ++u) {
    const int64_t src = guided ? (u < batch ? 0 : 1) : 0;
    runner.recorder().copy(out.data.sub(src * row, row), pc.context.data.sub(u * row, row), row);
  }
  runner.recorder().submit_and_wait();
  return pc;
}

}  // namespace ezivk::pipeline
