#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace ezivk::cli {

// Bad command-line arguments: printed with the command's name, exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int devices(const std::vector<std::string>& args);
int bench(const std::vector<std::string>& args);
int inspect(const std::vector<std::string>& args);
int tokenize(const std::vector<std::string>& args);

bool env_validation();

}  // namespace ezivk::cli
