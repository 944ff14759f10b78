#include "tools/ezivk/cli_args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tools/ezivk/commands.h"

namespace ezivk::cli {

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

const std::string& option_value(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw UsageError(args[i] + " needs a value");
  return args[++i];
}

int64_t parse_int(const std::string& v, const std::string& option, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || x < lo || x > hi)
    throw UsageError(option + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", got '" + v + "'");
  return x;
}

double parse_double(const std::string& v, const std::string& option, double lo, double hi) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || errno || !std::isfinite(x) || x < lo || x > hi)
    throw UsageError(option + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", got '" + v + "'");
  return x;
}

void parse_size(const std::string& v, int64_t& width, int64_t& height) {
  const auto x = v.find('x');
  const std::string w = x == std::string::npos ? v : v.substr(0, x), h = x == std::string::npos ? v : v.substr(x + 1);
  width = parse_int(w, "--size width", 8, 8192);
  height = parse_int(h, "--size height", 8, 8192);
  if (width % 8 || height % 8)
    throw UsageError("--size must be WxH with both multiples of 8 (the VAE's 8x downsampling), got '" + v + "'");
}

void expect_utf8(const std::string& v, const std::string& option) {
  try {
    (void)nlohmann::json(v).dump();  // nlohmann validates UTF-8 when serialising
  } catch (const nlohmann::json::exception&) {
    throw UsageError(option + " is not valid UTF-8");
  }
}

ops::DType parse_precision(const std::string& v) {
  if (v == "fp16") return ops::DType::F16;
  if (v == "fp32") return ops::DType::F32;
  throw UsageError("--precision must be fp16 or fp32, got '" + v + "'");
}

}  // namespace ezivk::cli
