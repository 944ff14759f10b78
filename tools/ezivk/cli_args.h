#pragma once
// Option parsing shared by the commands: every bad value is a UsageError naming the option and what it expects.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops/tensor.h"

namespace ezivk::cli {

// Whether --help or -h is among the arguments (wherever it stands: `ezivk generate --model X --help` is a request
// for help, not a run).
bool wants_help(const std::vector<std::string>& args);
// The value after option args[i] (advancing i); UsageError when it is missing.
const std::string& option_value(const std::vector<std::string>& args, size_t& i);
int64_t parse_int(const std::string& v, const std::string& option, int64_t lo, int64_t hi);
double parse_double(const std::string& v, const std::string& option, double lo, double hi);
// "512x512" or "512": width and height.
void parse_size(const std::string& v, int64_t& width, int64_t& height);
// UsageError naming the option unless v is valid UTF-8.
void expect_utf8(const std::string& v, const std::string& option);
// fp16 | fp32
ops::DType parse_precision(const std::string& v);

}  // namespace ezivk::cli
