#pragma once
// Stage: a prompt pair through the CLIP text encoder into the UNet's cross-attention context, on the device.
// With guidance the context is [negative × batch, prompt × batch] (diffusers' order: uncond items first), so one
// UNet call serves both halves; without it, [prompt × batch].
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/gpu/memory.h"
#include "engine/models/clip_tokenizer.h"
#include "engine/models/graph_runner.h"
#include "engine/pipeline/events.h"
#include "engine/pipeline/stable_diffusion.h"

namespace ezivk::pipeline {

struct PromptPair {
  std::string prompt, negative;
  // Token ids instead of text (models without a tokenizer, tests). Each must have the text encoder's length.
  std::optional<std::vector<int32_t>> prompt_ids, negative_ids;
};

struct PromptContext {
  gpu::Arena arena;
  ops::Tensor context;  // [UB, seq, hidden] in the model's dtype
  models::TokenizedPrompt prompt_tokens, negative_tokens;
  bool guided = false;
  int64_t batch = 1;  // images; the UNet batch is 2·batch when guided
  int64_t unet_batch() const { return guided ? 2 * batch : batch; }
};

// The text encoder's sequence length for this model (the tokenizer's, or max_position_embeddings without one).
int64_t prompt_sequence_length(const StableDiffusion& sd);

// Tokenizes (or checks given ids) without touching the device; Error for ids outside the vocabulary, or text
// given to a model without a tokenizer.
models::TokenizedPrompt tokenize_prompt(const StableDiffusion& sd, const std::string& text,
                                        const std::optional<std::vector<int32_t>>& ids);

// Runs the text encoder once on [negative, prompt] (or [prompt]) and repeats the rows per image. Truncated prompts
// are reported through `events` as Notices. Uses runner's activation arena (reserve it first).
PromptContext encode_prompts(StableDiffusion& sd, models::GraphRunner& runner, const PromptPair& prompts, int64_t batch,
                             bool guided, const EventSink& events = {});

}  // namespace ezivk::pipeline
