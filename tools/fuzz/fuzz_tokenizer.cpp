// The CLIP BPE tokenizer: hostile vocab.json and merges.txt (the input's first two parts), and any prompt (the
// third part) through the real CLIP vocabulary, which is loaded once. Parts are separated by the byte 0xFF, which
// valid UTF-8 never contains.
#include "engine/models/clip_tokenizer.h"
#include "tools/fuzz/fuzz_input.h"

#include <optional>
#include <string>
#include <string_view>

namespace {

const ezivk::models::ClipTokenizer* real_vocabulary() {
  static std::optional<ezivk::models::ClipTokenizer> tok = [] {
    const std::filesystem::path dir = std::filesystem::path(EZIVK_ROOT) / "tests" / "fixtures" / "clip-bpe";
    return std::optional<ezivk::models::ClipTokenizer>(
        ezivk::models::ClipTokenizer(dir / "vocab.json", dir / "merges.txt", "!", 77));
  }();
  return &*tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t a = in.find('\xff'), b = a == in.npos ? in.npos : in.find('\xff', a + 1);
  const std::string_view prompt = b == in.npos ? in : in.substr(b + 1);
  // Any prompt through the real vocabulary, and its decode.
  ezivk::fuzz::expect_clean([&] {
    const auto t = real_vocabulary()->encode(prompt);
    (void)real_vocabulary()->decode(std::vector<int32_t>(t.ids.begin(), t.ids.end()));
  });
  if (b != in.npos) {
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    const auto vocab = ezivk::fuzz::write_input("vocab.json", p, a);
    const auto merges = ezivk::fuzz::write_input("merges.txt", p + a + 1, b - a - 1);
    ezivk::fuzz::expect_clean([&] {
      const ezivk::models::ClipTokenizer tok(vocab, merges, "!", 77);
      const auto t = tok.encode(prompt);
      (void)tok.decode(std::vector<int32_t>(t.ids.begin(), t.ids.end()));
    });
  }
  return 0;
}
