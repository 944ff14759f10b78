#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace ezivk::gpu {
class Context;
}

namespace ezivk::pipeline {
struct AdapterCheckpointSummary;
}

namespace ezivk::cli {

// Bad command-line arguments: printed with the command's name, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int devices(const std::vector<std::string>& args);
int bench(const std::vector<std::string>& args);
int inspect(const std::vector<std::string>& args);
int generate(const std::vector<std::string>& args);
int tokenize(const std::vector<std::string>& args);
int forward(const std::vector<std::string>& args);
int adapter(const std::vector<std::string>& args);
int edit(const std::vector<std::string>& args);
int likeness(const std::vector<std::string>& args);
void print_adapter_summary(const pipeline::AdapterCheckpointSummary& s, bool json);
// `bench unet|vae|text` (args[0] names the model part), dispatched from bench().
int bench_models(const std::vector<std::string>& args);
int bench_generate(const std::vector<std::string>& args);
int bench_ezigen(const std::vector<std::string>& args);

// Error naming the first message when the validation layer (EZIVK_VALIDATION=1) reported anything.
void fail_on_validation_messages(gpu::Context& ctx);

bool env_validation();

}  // namespace ezivk::cli
