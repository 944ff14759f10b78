// The torch.save reader against checkpoints torch itself wrote (tools/fixtures/make_pickle_fixtures.py): every
// dtype, a transposed view and a slice sharing a storage, a parameter, a 0-d tensor; crafted pickles that call
// anything are refused naming the global (protocol 2 spells builtins as __builtin__), and a file cut anywhere fails with an Error, never a crash.
#include "engine/io/torch_checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

std::filesystem::path torch_dir() { return fixtures_dir() / "torch"; }

TEST(TorchCheckpoint, ReadsEveryDtypeViewAndSharedStorage) {
  const io::TorchCheckpoint ck(torch_dir() / "state.bin");
  const io::SafetensorsFile want(torch_dir() / "state_expected.safetensors");
  ASSERT_EQ(ck.tensors().size(), want.tensors().size());
  for (const auto& w : want.tensors()) {
    const io::TorchTensor* t = ck.find(w.name);
    ASSERT_NE(t, nullptr) << w.name;
    EXPECT_EQ(t->shape, w.shape) << w.name;
    std::vector<float> got(size_t(t->numel()));
    ck.to_f32(*t, got.data());
    EXPECT_EQ(got, want.to_f32(w)) << w.name;
  }
  EXPECT_EQ(ck.find("a_t")->storage, ck.find("a")->storage);
  EXPECT_FALSE(ck.find("a_t")->contiguous());
  EXPECT_EQ(ck.find("a_row1")->offset, 5);
  EXPECT_EQ(ck.find("half")->dtype, io::TorchDType::F16);
  EXPECT_EQ(ck.find("bf16")->dtype, io::TorchDType::BF16);
  EXPECT_EQ(ck.find("f64")->dtype, io::TorchDType::F64);
  EXPECT_TRUE(ck.find("scalar")->shape.empty());
}

TEST(TorchCheckpoint, RefusesPicklesThatCallAnything) {
  const auto dir = torch_dir();
  EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(dir / "evil_system.bin"); },
                                         {"evil_system.bin", "posix.system"}));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(dir / "evil_eval.bin"); },
                                         {"evil_eval.bin", "__builtin__.eval"}));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(dir / "evil_missing_storage.bin"); },
                                         {"storage '0'", "not in the archive"}));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(dir / "evil_list.bin"); },
                                         {"evil_list.bin", "not a dict"}));
  EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(fixtures_dir() / "io" / "photo_444.jpg"); },
                                         {"photo_444.jpg", "ZIP"}));
}

// A file cut at any length (every byte through the central directory's region, then a stride) is an Error.
TEST(TorchCheckpoint, TruncatedAnywhereFailsCleanly) {
  io_test::TempDir tmp;
  std::ifstream in(torch_dir() / "state.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  int checked = 0;
  for (size_t n = 0; n < bytes.size(); n += (n < 64 || n + 600 > bytes.size()) ? 1 : 7) {
    const auto p = tmp.path() / "cut.bin";
    io_test::write_bytes(p, bytes.substr(0, n));
    EXPECT_TRUE(io_test::throws_error_with([&] { io::TorchCheckpoint c(p); }, {"cut.bin"})) << n << " bytes";
    ++checked;
  }
  EXPECT_GT(checked, 600);
}

// Flipping any single byte of data.pkl never crashes: the reader either refuses it or reads a consistent dict.
TEST(TorchCheckpoint, CorruptPickleBytesNeverCrash) {
  io_test::TempDir tmp;
  std::ifstream in(torch_dir() / "state.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const size_t pkl = bytes.find("\x80\x02");  // data.pkl is the first entry; its body starts with PROTO 2
  ASSERT_NE(pkl, std::string::npos);
  int refused = 0;
  for (size_t i = pkl; i < pkl + 600 && i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = char(b[i] ^ 0x5a);
    const auto p = tmp.path() / "flip.bin";
    io_test::write_bytes(p, b);
    try {
      io::TorchCheckpoint c(p);
      for (auto& t : c.tensors()) {
        std::vector<float> v(size_t(t.numel()));
        c.to_f32(t, v.data());
      }
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace ezivk::test
