#include "engine/io/json_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/util/error.h"
#include "engine/io/file_check.h"

namespace ezivk::io {
namespace {

using nlohmann::json;

// A value quoted in an error message, shortened: a config can hold long lists.
std::string short_dump(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Integers, and floats with an integral value (some tools write 320.0), inside int64 range.
bool as_int(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) return false;
    out = int64_t(v.get<uint64_t>());
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 itself is out of range; every double below it converts exactly.
    if (!std::isfinite(d) || d != std::floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
      return false;
    out = int64_t(d);
    return true;
  }
  return false;
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path, uint64_t max_bytes) {
  const std::string p = path.string();
  std::error_code ec;
  expect_file(path, "a JSON file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(p + ": cannot read (" + ec.message() + ")");
  if (size > max_bytes)
    fail(p + ": is " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) + " expected");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(p + ": cannot read (" + std::strerror(errno) + ")");
  std::string text(size, '\0');
  f.read(text.data(), std::streamsize(size));
  if (f.gcount() != std::streamsize(size)) fail(p + ": cannot read (the file changed while it was read)");
  return text;
}

nlohmann::json parse_json(const std::string& text, const std::string& what, int max_depth) {
  try {
    return nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > max_depth) fail(what + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail(what + ": not valid JSON: " + e.what());
  }
}

JsonFile::JsonFile(const std::filesystem::path& path) : path_(path) {
  const std::string p = path.string();
  j_ = parse_json(read_text_file(path), p);
  if (!j_.is_object()) fail(p + ": top level must be a JSON object, got " + std::string(j_.type_name()));
}

JsonFile::JsonFile(std::filesystem::path path, nlohmann::json j) : path_(std::move(path)), j_(std::move(j)) {
  if (!j_.is_object()) fail(path_.string() + ": top level must be a JSON object, got " + std::string(j_.type_name()));
}

bool JsonFile::has(const std::string& key) const {
  auto it = j_.find(key);
  return it != j_.end() && !it->is_null();
}

namespace {

const json& required(const json& j, const std::filesystem::path& path, const std::string& key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail(path.string() + ": missing key '" + key + "'");
  return *it;
}

[[noreturn]] void wrong_type(const std::filesystem::path& path, const std::string& key, const char* type,
                             const json& got) {
  fail(path.string() + ": '" + key + "' must be " + type + ", got " + short_dump(got));
}

}  // namespace

int64_t JsonFile::integer(const std::string& key) const {
  const nlohmann::json& v = required(j_, path_, key);
  int64_t out = 0;
  if (!as_int(v, out)) wrong_type(path_, key, "an integer", v);
  return out;
}

int64_t JsonFile::integer(const std::string& key, int64_t def) const { return has(key) ? integer(key) : def; }

double JsonFile::number(const std::string& key) const {
  const nlohmann::json& v = required(j_, path_, key);
  if (!v.is_number()) wrong_type(path_, key, "a number", v);
  return v.get<double>();
}

double JsonFile::number(const std::string& key, double def) const { return has(key) ? number(key) : def; }

namespace {

std::string plain(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

int64_t JsonFile::integer_in(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
  const int64_t v = integer(key, def);
  if (v < lo || v > hi)
    fail(path_.string() + ": '" + key + "' = " + std::to_string(v) + " is out of range (expected " + std::to_string(lo) +
         " to " + std::to_string(hi) + ")");
  return v;
}

double JsonFile::number_in(const std::string& key, double def, double lo, double hi) const {
  const double v = number(key, def);
  if (!std::isfinite(v) || v < lo || v > hi)
    fail(path_.string() + ": '" + key + "' = " + plain(v) + " is out of range (expected " + plain(lo) + " to " +
         plain(hi) + ")");
  return v;
}

bool JsonFile::boolean(const std::string& key, bool def) const {
  if (!has(key)) return def;
  const nlohmann::json& v = j_.at(key);
  if (!v.is_boolean()) wrong_type(path_, key, "true or false", v);
  return v.get<bool>();
}

std::string JsonFile::string(const std::string& key) const {
  const nlohmann::json& v = required(j_, path_, key);
  if (!v.is_string()) wrong_type(path_, key, "a string", v);
  return v.get<std::string>();
}

std::string JsonFile::string(const std::string& key, const std::string& def) const {
  return has(key) ? string(key) : def;
}

std::vector<int64_t> JsonFile::int_list(const std::string& key) const {
  const nlohmann::json& v = required(j_, path_, key);
  if (!v.is_array()) wrong_type(path_, key, "a list of integers", v);
  std::vector<int64_t> out;
  for (const nlohmann::json& e : v) {
    int64_t x = 0;
    if (!as_int(e, x)) wrong_type(path_, key, "a list of integers", v);
    out.push_back(x);
  }
  return out;
}

std::vector<std::string> JsonFile::string_list(const std::string& key) const {
  const nlohmann::json& v = required(j_, path_, key);
  if (!v.is_array()) wrong_type(path_, key, "a list of strings", v);
  std::vector<std::string> out;
  for (const nlohmann::json& e : v) {
    if (!e.is_string()) wrong_type(path_, key, "a list of strings", v);
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int64_t> JsonFile::int_or_list(const std::string& key, size_t n, std::optional<int64_t> def) const {
  if (!has(key)) {
    if (def) return std::vector<int64_t>(n, *def);
    fail(path_.string() + ": missing key '" + key + "'");
  }
  const nlohmann::json& v = j_.at(key);
  int64_t x = 0;
  if (as_int(v, x)) return std::vector<int64_t>(n, x);
  if (!v.is_array()) wrong_type(path_, key, "an integer or a list of integers", v);
  std::vector<int64_t> out = int_list(key);
  if (out.size() != n)
    fail(path_.string() + ": '" + key + "' must have " + std::to_string(n) + " entries, got " +
         std::to_string(out.size()));
  return out;
}

void JsonFile::bad_value(const std::string& key, const std::string& expected) const {
  auto it = j_.find(key);
  const std::string value = it == j_.end() ? std::string("(missing)") : short_dump(*it);
  fail(path_.string() + ": '" + key + "' = " + value + " is not supported (expected one of: " + expected + ")");
}

}  // namespace ezivk::io
