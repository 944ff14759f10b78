#pragma once
// Stage: everything EZIGen's UNet needs to attend to the subjects, built once per run and shared by the first
// pass, every round and editing: the subject bank (subject_bank.h), each block's subject keys and values
// (to_k/to_v of the adapter, or of attn1 in the training-free reference mode, over the bank's tokens; one copy
// serves both halves of the guidance batch), and the block hooks that switch the subject on.
#include <map>
#include <string>

#include "engine/gpu/memory.h"
#include "engine/models/graph_runner.h"
#include "engine/models/transformer2d.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/subject_bank.h"

namespace ezivk::pipeline {

enum class SubjectMode { Adapter, Reference };

class SubjectAttention {
 public:
  // Encodes the subjects (drawing from gen_b as encode_subjects does) and projects their keys and values.
  // Adapter mode needs weights; Reference mode weights the subject's keys and values by `strength`.
  SubjectAttention(StableDiffusion& sd, const EzigenWeights* weights, SubjectMode mode, float strength,
                   models::GraphRunner& runner, const std::vector<SubjectImage>& subjects, int t_subject,
                   TorchGenerator& gen_b);
  SubjectAttention(const SubjectAttention&) = delete;
  SubjectAttention& operator=(const SubjectAttention&) = delete;

  // Hooks that turn the subject on in every transformer block (valid while this object lives).
  const models::BlockHooks& hooks() const { return on_; }
  // The UNet that generates: the checkpoint's when it differs from the folder's, else the folder's.
  const models::UNet2DConditionModel& unet() const { return *unet_; }
  const SubjectBank& bank() const { return bank_; }
  uint64_t bytes() const { return bank_.bytes() + kv_arena_.capacity() + capture_arena_.capacity(); }

  // Records, from now on, what the given query tokens of each named block attend to among the subject's tokens
  // (head-averaged probabilities [unet_batch, queries, subject tokens] and the share that went to the subject),
  // for a UNet batch of unet_batch items over `tokens` own tokens per block. Replaces an earlier request.
  struct CaptureSpec {
    std::string block;
    std::vector<uint32_t> query_ids;
    int64_t tokens = 0;  // the block's own tokens (image positions) at the generation size
  };
  void capture(gpu::Context& ctx, const std::vector<CaptureSpec>& specs, int64_t unet_batch);
  struct Captured {
    std::string block;
    std::vector<uint32_t> query_ids;
    std::vector<int64_t> probs_shape;
    std::vector<float> probs, mass;
    int head = -1;
  };
  // Host copies of the last step's records (call after the step's submit).
  std::vector<Captured> download_captures(gpu::Context& ctx) const;
  // From the next recorded step on: -1 the mean over heads, else that head (an Error naming the block if a captured
  // block has fewer heads).
  void set_capture_head(int head);

 private:
  SubjectBank bank_;
  gpu::Arena kv_arena_;
  std::map<std::string, ops::Tensor> kv_;
  std::map<std::string, models::SecondSource> sources_;
  models::BlockHooks on_;
  int64_t heads_of(const std::string& block) const;
  gpu::Arena capture_arena_;
  std::map<std::string, ops::AttentionCapture> captures_;
  std::map<std::string, std::vector<uint32_t>> capture_ids_;
  const models::UNet2DConditionModel* unet_ = nullptr;
};

}  // namespace ezivk::pipeline
