#pragma once
// The parsers read files (they map them or check their size first), so each input is written to one scratch file
// per process. An ezivk::Error is the expected answer to bad input; anything else (a crash, a sanitizer report, a
// hang, another exception type escaping) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/util/error.h"

namespace ezivk::fuzz {

inline std::filesystem::path scratch(const std::string& name) {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("TMPDIR");
    auto d = std::filesystem::path(base ? base : "/tmp") / ("ezivk-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir / name;
}

inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto p = scratch(name);
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return p;
}

// Runs f; swallows only ezivk::Error (a clear refusal is the right outcome).
template <class F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const ezivk::Error&) {
  }
}

}  // namespace ezivk::fuzz
