#pragma once
// What an EZIGen checkpoint holds, without a model (`ezivk inspect`), and the adapters-only file made from it
// (`ezivk adapter extract`: a few hundred MB instead of the whole 6.5 GB training state).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ezivk::pipeline {

struct AdapterCheckpointSummary {
  std::filesystem::path file;
  std::string format;                    // "safetensors" or "torch pickle"
  int64_t tensors = 0;
  int64_t other_tensors = 0;             // not adapters: the main UNet's (0 in an adapters-only file)
  std::vector<std::string> blocks;       // transformer blocks with an adapter, sorted as the UNet runs them
  std::vector<int64_t> widths;           // each block's channels
  std::vector<float> learnable_weights;
  uint64_t adapter_parameters = 0;
};

// Error naming the file when it holds no adapters, an adapter lacks a tensor, or learnable_weights does not have
// one entry per adapter.
AdapterCheckpointSummary summarize_adapter_checkpoint(const std::filesystem::path& path);

// Writes the adapters (F32, or F16 with half) and learnable_weights (F32) as safetensors, atomically.
AdapterCheckpointSummary extract_adapters(const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                                          bool half);

}  // namespace ezivk::pipeline
