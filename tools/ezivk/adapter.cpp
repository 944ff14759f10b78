// `ezivk adapter extract CHECKPOINT OUT.safetensors`: the EZIGen adapters of a released checkpoint (safetensors or
// torch pickle, the folder or the file) as a small safetensors file that --adapter accepts; and the checkpoint
// report `ezivk inspect CHECKPOINT` prints.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gpu/memory.h"
#include "engine/pipeline/adapter_checkpoint.h"
#include "tools/ezivk/cli_args.h"
#include "engine/io/atomic_file.h"
#include "tools/ezivk/commands.h"

namespace ezivk::cli {

namespace {

const char* kUsage =
    "usage: ezivk adapter extract CHECKPOINT OUT.safetensors [--half]\n"
    "  Writes the EZIGen adapters and learnable_weights of CHECKPOINT (the released folder, its model.safetensors or\n"
    "  pytorch_model.bin) to OUT.safetensors, which --adapter accepts. --half stores the adapters as fp16.\n";

}  // namespace

void print_adapter_summary(const pipeline::AdapterCheckpointSummary& s, bool json) {
  if (json) {
    nlohmann::json blocks = nlohmann::json::array();
    for (size_t i = 0; i < s.blocks.size(); ++i)
      blocks.push_back({{"block", s.blocks[i]}, {"channels", s.widths[i]}, {"learnable_weight", s.learnable_weights[i]}});
    std::puts(nlohmann::json({{"checkpoint", s.file.string()},
                              {"format", s.format},
                              {"tensors", s.tensors},
                              {"main_unet_tensors", s.other_tensors},
                              {"adapter_parameters", s.adapter_parameters},
                              {"adapters", blocks}})
                  .dump(2)
                  .c_str());
    return;
  }
  std::printf("checkpoint:    %s (%s)\n", s.file.c_str(), s.format.c_str());
  std::printf("tensors:       %lld (%lld of the main UNet%s)\n", (long long)s.tensors, (long long)s.other_tensors,
              s.other_tensors ? "" : ": adapters only");
  std::printf("adapters:      %zu blocks, %llu parameters (%s as fp16)\n", s.blocks.size(),
              (unsigned long long)s.adapter_parameters, gpu::format_bytes(s.adapter_parameters * 2).c_str());
  for (size_t i = 0; i < s.blocks.size(); ++i)
    std::printf("  %-52s %5lld ch  weight %.4f\n", s.blocks[i].c_str(), (long long)s.widths[i],
                double(s.learnable_weights[i]));
}

int adapter(const std::vector<std::string>& args) {
  if (wants_help(args) || args.empty()) {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "extract") throw UsageError("unknown adapter command '" + args[0] + "'\n" + kUsage);
  std::vector<std::string> pos;
  bool half = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--half") half = true;
    else if (!args[i].empty() && args[i][0] == '-') throw UsageError("unknown option '" + args[i] + "'");
    else pos.push_back(args[i]);
  }
  if (pos.size() != 2) throw UsageError("expected CHECKPOINT and OUT.safetensors\n" + std::string(kUsage));
  if (std::filesystem::path(pos[1]).extension() != ".safetensors")
    throw UsageError("OUT must name a .safetensors file, got '" + pos[1] + "'");
  io::check_output_path(pos[1], "OUT");  // before the (multi-gigabyte) checkpoint is read
  const auto s = pipeline::extract_adapters(pos[0], pos[1], half);
  std::printf("wrote %s: %zu adapters, %llu parameters, %s\n", pos[1].c_str(), s.blocks.size(),
              (unsigned long long)s.adapter_parameters,
              gpu::format_bytes(std::filesystem::file_size(pos[1])).c_str());
  return 0;
}

}  // namespace ezivk::cli
