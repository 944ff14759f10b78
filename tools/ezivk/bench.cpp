// `ezivk bench ...`: benchmarks that print figures and write them to a file.
#include <cstdio>

#include "tools/ezivk/commands.h"

namespace ezivk::cli {

int bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::puts("usage: ezivk bench ops [--out FILE] [--quick]\n  Times the kernels on SD2.1-base shapes.");
    return args.empty() ? 2 : 0;
  }
  throw UsageError("unknown benchmark '" + args[0] + "' (expected: ops)");
}

}  // namespace ezivk::cli
