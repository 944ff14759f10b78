// ezivk command-line front end: dispatches to one command per file (devices, bench, ...).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "engine/gpu/private_driver.h"
#include "engine/pipeline/cancel.h"
#include "tools/ezivk/commands.h"

namespace {

void usage(FILE* f) {
  std::fputs(
      "usage: ezivk <command> [options]\n"
      "\n"
      "commands:\n"
      "  devices [--json]          list Vulkan devices and what they offer (fp16, subgroups, cooperative matrices)\n"
      "  generate --model DIR --prompt TEXT [options]  text-to-image (see `ezivk generate --help`)\n"
      "  generate ... --subject IMG --adapter CKPT      EZIGen: the subject of IMG in the prompt's scene\n"
      "  edit --image SCENE --mask MASK --subject IMG ...  EZIGen editing (see `ezivk edit --help`)\n"
      "  inspect MODEL_DIR         check a diffusers folder; parameters, dtypes, device memory needed\n"
      "  inspect CHECKPOINT        the EZIGen adapters a checkpoint holds\n"
      "  adapter extract CKPT OUT  the adapters of a released checkpoint as a small safetensors file\n"
      "  tokenize [--model DIR] P  the CLIP token ids and pieces of a prompt\n"
      "  likeness --subject IMG P...  how much of the subject's colouring each picture shows (0..1)\n"
      "  forward unet|text|vae-encode|vae-decode --model DIR\n"
      "                            one forward on .npy inputs; --dump DIR writes every block's output\n"
      "  bench ops|unet|vae|text   time the kernels or whole models (see `ezivk bench --help`)\n"
      "\n"
      "global environment:\n"
      "  EZIVK_DEVICE=N|name       pick a device by index or name substring (default: the best GPU)\n"
      "  EZIVK_FORCE_FP32=1        never use fp16 kernels\n"
      "  EZIVK_NO_COOPMAT=1        never use cooperative-matrix kernels\n"
      "  EZIVK_VALIDATION=1        enable the Khronos validation layer\n"
      "  EZIVK_TIMEOUT_S=S         seconds a GPU submit may take before it is an error (600)\n"
      "  EZIVK_CACHE_DIR=DIR       where the pipeline cache is kept (~/.cache/ezivk; '-' for none)\n"
      "  EZIVK_SYSTEM_VULKAN=1     stay on the system Vulkan driver instead of the private Mesa 26 lavapipe\n",
      f);
}

}  // namespace

int main(int argc, char** argv) {
  ezivk::gpu::select_vulkan_driver(argc, argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "devices") return ezivk::cli::devices(args);
    if (cmd == "bench") return ezivk::cli::bench(args);
    if (cmd == "inspect") return ezivk::cli::inspect(args);
    if (cmd == "generate") return ezivk::cli::generate(args);
    if (cmd == "tokenize") return ezivk::cli::tokenize(args);
    if (cmd == "forward") return ezivk::cli::forward(args);
    if (cmd == "adapter") return ezivk::cli::adapter(args);
    if (cmd == "edit") return ezivk::cli::edit(args);
    if (cmd == "likeness") return ezivk::cli::likeness(args);
    std::fprintf(stderr, "ezivk: unknown command '%s'\n\n", cmd.c_str());
    usage(stderr);
    return 2;
  } catch (const ezivk::pipeline::Cancelled&) {
    std::fprintf(stderr, "ezivk %s: interrupted after the current step; nothing was written\n", cmd.c_str());
    return 130;
  } catch (const ezivk::cli::UsageError& e) {
    std::fprintf(stderr, "ezivk %s: %s\n", cmd.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ezivk %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
