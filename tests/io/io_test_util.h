#pragma once
// Helpers for the io tests: a temporary directory per test, raw file access, and a check that a call throws an
// ezivk::Error whose sentence contains given parts (the file name, the tensor or key, what was expected).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

#include "engine/util/error.h"

namespace ezivk::io_test {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "ezivk_io_" + std::to_string(::getpid()) + "_";
    if (info) name += std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << p;
}

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// tests/fixtures/io, found from this header's own location so the tests run from any directory.
inline std::filesystem::path fixture_dir() {
  return std::filesystem::absolute(std::filesystem::path(__FILE__)).parent_path().parent_path() / "fixtures" / "io";
}

template <typename F>
::testing::AssertionResult throws_error_with(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const ezivk::Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts)
      if (what.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "error \"" << what << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess() << what;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-ezivk exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "no error was thrown";
}

}  // namespace ezivk::io_test
