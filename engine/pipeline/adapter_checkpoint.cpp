#include "engine/pipeline/adapter_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/io/safetensors.h"
#include "engine/models/weights.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/util/error.h"
#include "engine/util/half.h"

namespace ezivk::pipeline {

namespace fs = std::filesystem;

namespace {

// Execution order of a block name: down blocks, then mid, then up, each by its indices.
std::tuple<int, int, int> order_key(const std::string& b) {
  auto num_after = [&](const std::string& tag) {
    const auto at = b.find(tag);
    return at == std::string::npos ? 0 : std::atoi(b.c_str() + at + tag.size());
  };
  const int part = b.rfind("down_blocks.", 0) == 0 ? 0 : b.rfind("mid_block", 0) == 0 ? 1 : 2;
  const int level = part == 1 ? 0 : num_after(part == 0 ? "down_blocks." : "up_blocks.");
  return {part, level, num_after("attentions.") * 100 + num_after("transformer_blocks.")};
}

const char* kParts[] = {".adapter.to_q.weight", ".adapter.to_k.weight", ".adapter.to_v.weight",
                        ".adapter.to_out.0.weight", ".adapter.to_out.0.bias", ".adapter_norm.weight",
                        ".adapter_norm.bias"};

}  // namespace

AdapterCheckpointSummary summarize_adapter_checkpoint(const fs::path& path) {
  AdapterCheckpointSummary s;
  s.file = resolve_adapter_file(path);
  auto src = open_weight_file(s.file, &s.format);
  const std::string f = s.file.string();
  const auto names = src->names();
  s.tensors = int64_t(names.size());
  for (const auto& n : names) {
    const auto at = n.find(".adapter_norm.weight");
    if (at != std::string::npos && at + 20 == n.size()) s.blocks.push_back(n.substr(0, at));
  }
  if (s.blocks.empty()) fail(f + ": no EZIGen adapters (no '<block>.adapter_norm.weight' tensors)");
  std::sort(s.blocks.begin(), s.blocks.end(), [](auto& a, auto& b) { return order_key(a) < order_key(b); });
  int64_t adapter_tensors = 0;
  for (const auto& b : s.blocks) {
    const int64_t c = src->shape(b + ".adapter_norm.weight").at(0);
    s.widths.push_back(c);
    for (const char* part : kParts) {
      const std::string n = b + part;
      if (!src->contains(n)) fail(f + ": adapter of '" + b + "' lacks '" + n + "'");
      int64_t e = 1;
      for (auto d : src->shape(n)) e *= d;
      s.adapter_parameters += uint64_t(e);
      ++adapter_tensors;
    }
  }
  if (!src->contains("learnable_weights")) fail(f + ": no learnable_weights tensor");
  const auto lw = src->shape("learnable_weights");
  if (lw.size() != 1 || lw[0] != int64_t(s.blocks.size()))
    fail(f + ": learnable_weights has shape " + ops::shape_string(lw) + ", expected [" +
         std::to_string(s.blocks.size()) + "] (one per adapter)");
  s.learnable_weights.resize(s.blocks.size());
  src->read("learnable_weights", s.learnable_weights.data());
  s.other_tensors = s.tensors - adapter_tensors - 1;
  return s;
}

AdapterCheckpointSummary extract_adapters(const fs::path& checkpoint, const fs::path& out, bool half) {
  auto s = summarize_adapter_checkpoint(checkpoint);
  auto src = open_weight_file(s.file);
  std::vector<io::StWriteTensor> tensors;
  auto add = [&](const std::string& name, bool half) {
    const auto shape = src->shape(name);
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    src->read(name, v.data());
    io::StWriteTensor t{name, half ? io::StDType::F16 : io::StDType::F32, shape, {}};
    t.data.resize(size_t(n) * (half ? 2 : 4));
    if (half) {
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = float_to_half(v[size_t(i)]);
        std::memcpy(t.data.data() + 2 * i, &h, 2);
      }
    } else {
      std::memcpy(t.data.data(), v.data(), t.data.size());
    }
    tensors.push_back(std::move(t));
  };
  for (const auto& b : s.blocks)
    for (const char* part : kParts) add(b + part, half);
  add("learnable_weights", false);  // 16 numbers: kept exact
  io::write_safetensors(out, tensors, {{"format", "pt"}, {"source", s.file.filename().string()},
                                       {"content", "EZIGen adapters"}});
  return s;
}

}  // namespace ezivk::pipeline
