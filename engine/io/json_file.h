#pragma once
// JSON files from model folders (config.json, model_index.json, ...): parse errors and wrong or missing keys
// become one Error naming the file, the key and what was expected.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

namespace ezivk::io {

// JSON from an untrusted file: a regular file of at most 64 MiB, nesting at most `max_depth` levels (nlohmann
// parses deep nesting iteratively but serialises it recursively, so an error message quoting a value could
// overflow the stack). Errors name `what` (the path).
std::string read_text_file(const std::filesystem::path& path, uint64_t max_bytes = 64ull << 20);
nlohmann::json parse_json(const std::string& text, const std::string& what, int max_depth = 32);

class JsonFile {
 public:
  // Reads and parses; Error "<path>: not valid JSON: ..." or "<path>: cannot read ..." otherwise.
  // The top level must be an object.
  explicit JsonFile(const std::filesystem::path& path);
  JsonFile(std::filesystem::path path, nlohmann::json j);  // for tests
  const std::filesystem::path& path() const { return path_; }
  const nlohmann::json& json() const { return j_; }
  bool has(const std::string& key) const;  // present and not null

  // Typed getters: absent or null -> the default (or Error "<path>: missing key 'k'" for the required forms);
  // wrong type -> Error "<path>: 'k' must be <type>, got <json>".
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t def) const;
  double number(const std::string& key) const;
  double number(const std::string& key, double def) const;
  // The same, range-checked: Error "<path>: 'k' = v is out of range (expected lo to hi)". Every size that feeds
  // arithmetic goes through these, so a config cannot overflow a shape or a memory plan.
  int64_t integer_in(const std::string& key, int64_t def, int64_t lo, int64_t hi) const;
  double number_in(const std::string& key, double def, double lo, double hi) const;
  bool boolean(const std::string& key, bool def) const;
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& def) const;
  std::vector<int64_t> int_list(const std::string& key) const;
  std::vector<std::string> string_list(const std::string& key) const;
  // A number or a list of numbers (attention_head_dim): a number is repeated `n` times; a list must have n.
  std::vector<int64_t> int_or_list(const std::string& key, size_t n, std::optional<int64_t> def = std::nullopt) const;
  // Error "<path>: '<key>' = <value> is not supported (expected one of: a, b)".
  [[noreturn]] void bad_value(const std::string& key, const std::string& expected) const;

 private:
  std::filesystem::path path_;
  nlohmann::json j_;
};

}  // namespace ezivk::io
