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
// Integers and numbers are plain decimal: no spaces, no '+', no hex, no inf/nan.
// "512x512": width and height, 1 to 8192 each; whether they suit the model is check_size_multiple's job.
// `option` names the flag in errors.
void parse_size(const std::string& v, int64_t& width, int64_t& height, const std::string& option = "--size");
// UsageError unless both are multiples of `multiple`; `why` names the reason ("the model's VAE downsamples by 2").
void check_size_multiple(int64_t width, int64_t height, int64_t multiple, const std::string& why);
// UsageError naming the option unless v is valid UTF-8.
void expect_utf8(const std::string& v, const std::string& option);
// fp16 | fp32
ops::DType parse_precision(const std::string& v);

}  // namespace ezivk::cli
