// The safetensors header and data ranges: open, list, convert every float tensor up to 1M elements.
#include "engine/io/safetensors.h"
#include "tools/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = ezivk::fuzz::write_input("in.safetensors", data, size);
  ezivk::fuzz::expect_clean([&] {
    const ezivk::io::SafetensorsFile f(p);
    for (const auto& t : f.tensors()) {
      (void)f.bytes(t);
      if (t.numel() <= (1 << 20)) ezivk::fuzz::expect_clean([&] { (void)f.to_f32(t); });
    }
    (void)ezivk::io::find_non_finite(f);
  });
  return 0;
}
