// PyTorch zip checkpoints read by the restricted unpickler (never executed): archive, pickle, tensor views.
#include "engine/io/torch_checkpoint.h"
#include "tools/fuzz/fuzz_input.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = ezivk::fuzz::write_input("in.pt", data, size);
  ezivk::fuzz::expect_clean([&] {
    const ezivk::io::TorchCheckpoint ck(p);
    for (const auto& t : ck.tensors())
      if (t.numel() >= 0 && t.numel() <= (1 << 20))
        ezivk::fuzz::expect_clean([&] {
          std::vector<float> v(static_cast<size_t>(t.numel()));
          ck.to_f32(t, v.data());
        });
  });
  return 0;
}
