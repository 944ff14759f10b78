#pragma once
// The largest model shapes ezivk accepts from a config file. They are far beyond any released SD-style model (SD2:
// 1280 channels, 23 text layers, 64x64 latents) and small enough that no shape, tensor size or memory plan built from
// them overflows 64-bit arithmetic. A config outside them is refused naming the file and key.
#include <cstdint>

namespace ezivk::models::limits {

inline constexpr int64_t kChannels = 16384;        // any channel count, hidden size or cross_attention_dim
inline constexpr int64_t kFeedForward = 65536;     // CLIP intermediate_size
inline constexpr int64_t kLevels = 8;              // entries of block_out_channels
inline constexpr int64_t kLayers = 64;             // layers per block, transformer layers, text encoder layers
inline constexpr int64_t kVocabulary = 1 << 20;    // CLIP vocab_size
inline constexpr int64_t kPositions = 4096;        // CLIP max_position_embeddings
inline constexpr int64_t kImageSide = 8192;        // pixels: the largest image side generate accepts
inline constexpr int64_t kKernel = 7;              // conv_in / conv_out kernel sizes

}  // namespace ezivk::models::limits
