#pragma once
// Helpers shared by the element-wise and normalisation op tests: per-dtype tolerances, skipping f16 where the
// device has none, and checking that an op's Error names the op and the offending argument.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "engine/util/error.h"
#include "support/gpu_fixture.h"

namespace ezivk::test {

// Normalised error allowed against a double reference (computed on the dtype-rounded inputs; for f16 the
// reference is rounded to f16 too).
inline double tolerance(DType t) { return t == DType::F16 ? 2e-3 : 1e-5; }

#define EZIVK_SKIP_WITHOUT_DTYPE(dt) \
  if ((dt) == DType::F16 && !ctx().fp16()) GTEST_SKIP() << "this device has no fp16 support"

// Runs f, expecting an ezivk::Error whose message contains every one of `words`.
inline void expect_error(const std::function<void()>& f, std::initializer_list<const char*> words) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const char* w : words) EXPECT_NE(m.find(w), std::string::npos) << "'" << w << "' missing from: " << m;
  }
}

}  // namespace ezivk::test
