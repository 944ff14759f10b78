// .npy files (inputs of `ezivk forward`): header, dtype, shape, data length, conversion to float.
#include "engine/io/npy.h"
#include "tools/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = ezivk::fuzz::write_input("in.npy", data, size);
  ezivk::fuzz::expect_clean([&] {
    const auto a = ezivk::io::read_npy(p);
    ezivk::fuzz::expect_clean([&] { (void)a.as_f32(); });
  });
  return 0;
}
