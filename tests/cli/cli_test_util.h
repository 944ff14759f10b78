#pragma once
// Calling `ezivk` commands in-process from tests: stdout captured, the validation layer switched on for the
// command's own Vulkan context (forward and bench fail with an Error when it reported anything).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/ezivk/commands.h"

namespace ezivk::test {

using CliCommand = int (*)(const std::vector<std::string>&);

// Runs cmd(args) with stdout captured; returns what it printed. Exceptions propagate after the capture ends.
inline std::string run_cli(CliCommand cmd, const std::vector<std::string>& args, int* status = nullptr) {
  ::setenv("EZIVK_VALIDATION", "1", 1);
  ::testing::internal::CaptureStdout();
  int rc = -1;
  try {
    rc = cmd(args);
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  const std::string out = ::testing::internal::GetCapturedStdout();
  if (status) *status = rc;
  EXPECT_EQ(rc, 0) << out;
  return out;
}

// The message of the exception type E that cmd(args) throws ("" with a test failure when it throws none).
template <class E>
std::string cli_error(CliCommand cmd, const std::vector<std::string>& args) {
  try {
    run_cli(cmd, args);
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace ezivk::test
