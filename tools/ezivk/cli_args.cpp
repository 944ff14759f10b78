#include "tools/ezivk/cli_args.h"

#include <cctype>
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

namespace {

// Plain decimal only: strtoll/strtod would also take leading spaces, a '+', hex ("0x10", "0x1p3"), "inf" and "nan".
bool is_decimal_integer(const std::string& v) {
  size_t i = v.size() > 1 && v[0] == '-' ? 1 : 0;
  if (i == v.size()) return false;
  for (; i < v.size(); ++i)
    if (v[i] < '0' || v[i] > '9') return false;
  return true;
}

bool is_decimal_number(const std::string& v) {
  size_t i = v.size() > 1 && v[0] == '-' ? 1 : 0;
  size_t digits = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++digits;
  }
  if (!digits) return false;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
    size_t exp = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++exp;
    if (!exp) return false;
  }
  return i == v.size();
}

}  // namespace

int64_t parse_int(const std::string& v, const std::string& option, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (!is_decimal_integer(v) || *end || errno || x < lo || x > hi)
    throw UsageError(option + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", got '" + v + "'");
  return x;
}

double parse_double(const std::string& v, const std::string& option, double lo, double hi) {
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (!is_decimal_number(v) || *end || errno || !std::isfinite(x) || x < lo || x > hi)
    throw UsageError(option + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", got '" + v + "'");
  return x;
}

void parse_size(const std::string& v, int64_t& width, int64_t& height, const std::string& option) {
  const auto x = v.find('x');
  if (x == std::string::npos || v.find('x', x + 1) != std::string::npos)
    throw UsageError(option + " must be WIDTHxHEIGHT in pixels (e.g. 512x512), got '" + v + "'");
  width = parse_int(v.substr(0, x), option + " width", 1, 8192);
  height = parse_int(v.substr(x + 1), option + " height", 1, 8192);
}

void check_size_multiple(int64_t width, int64_t height, int64_t multiple, const std::string& why) {
  if (width % multiple || height % multiple)
    throw UsageError("--size " + std::to_string(width) + "x" + std::to_string(height) + ": both must be multiples of " +
                     std::to_string(multiple) + " (" + why + ")");
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
