// Compares engine/util/torch_randn with values recorded from torch 1.13 itself
// (tools/fixtures/make_randn_fixtures.py → tests/fixtures/randn/randn_<capability>.json), bit for bit.
#include "engine/util/torch_randn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/util/error.h"

namespace ezivk::test {
namespace {

std::filesystem::path fixture_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "randn";
}

nlohmann::json load_fixture(const std::string& name) {
  const auto path = fixture_dir() / name;
  std::ifstream f(path);
  if (!f) ADD_FAILURE() << "cannot open fixture " << path;
  return nlohmann::json::parse(f);
}

uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}
float float_of(uint32_t u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}
uint32_t parse_hex32(const std::string& s) { return static_cast<uint32_t>(std::stoul(s, nullptr, 16)); }

// The fixture's hash, computed independently of the code under test: FNV-1a 64 over the little-endian bytes.
uint64_t fnv1a64(const std::vector<float>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (float x : v) {
    const uint32_t u = bits_of(x);
    for (int b = 0; b < 4; ++b) {
      h ^= (u >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

// Distance in units in the last place between two finite floats of any sign.
int64_t ulp_distance(float a, float b) {
  auto ordered = [](float v) {
    const int32_t i = static_cast<int32_t>(bits_of(v));
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(ordered(a) - ordered(b));
}

// Returns "" when `got` equals the recorded draw, otherwise a description of the first differences.
std::string compare_draw(const std::vector<float>& got, const nlohmann::json& want) {
  std::ostringstream msg;
  const int64_t n = want.at("numel").get<int64_t>();
  if (static_cast<int64_t>(got.size()) != n) return "size " + std::to_string(got.size()) + " != " + std::to_string(n);
  auto check = [&](const nlohmann::json& hex, int64_t first) {
    int reported = 0;
    for (size_t k = 0; k < hex.size(); ++k) {
      const uint32_t expect = parse_hex32(hex[k].get<std::string>());
      const float g = got[static_cast<size_t>(first) + k];
      if (bits_of(g) != expect && reported++ < 3) {
        msg << " [" << first + static_cast<int64_t>(k) << "] got " << g << " want " << float_of(expect) << " ("
            << ulp_distance(g, float_of(expect)) << " ulp)";
      }
    }
  };
  if (want.contains("bits")) check(want["bits"], 0);
  if (want.contains("head")) check(want["head"], 0);
  if (want.contains("tail")) check(want["tail"], n - static_cast<int64_t>(want["tail"].size()));
  const uint64_t want_hash = std::stoull(want.at("fnv1a64").get<std::string>(), nullptr, 16);
  if (fnv1a64(got) != want_hash) msg << " hash differs";
  return msg.str();
}

struct KernelCase {
  const char* fixture;
  TorchNormalKernel kernel;
};

class TorchRandnFixture : public ::testing::TestWithParam<KernelCase> {};

TEST_P(TorchRandnFixture, MatchesTorchBitForBit) {
  const auto [fixture, kernel] = GetParam();
#if !defined(__GLIBC__)
  if (kernel == TorchNormalKernel::Portable) GTEST_SKIP() << "the portable kernel matches torch only with glibc's libm";
#endif
  const auto doc = load_fixture(fixture);
  ASSERT_GE(doc.at("cases").size(), 50u);
  int draws = 0;
  for (const auto& c : doc["cases"]) {
    const uint64_t seed = c.at("seed").get<uint64_t>();
    TorchGenerator gen(seed, kernel);
    std::string sizes;
    for (const auto& d : c.at("draws")) {
      const int64_t n = d.at("numel").get<int64_t>();
      sizes += (sizes.empty() ? "" : ",") + std::to_string(n);
      const std::string diff = compare_draw(gen.randn(n), d);
      EXPECT_EQ(diff, "") << fixture << " seed " << seed << " draws " << sizes;
      ++draws;
    }
  }
  EXPECT_GT(draws, 80);
}

INSTANTIATE_TEST_SUITE_P(Kernels, TorchRandnFixture,
                         ::testing::Values(KernelCase{"randn_avx2.json", TorchNormalKernel::Avx2},
                                           KernelCase{"randn_default.json", TorchNormalKernel::Portable}),
                         [](const auto& info) {
                           return info.param.kernel == TorchNormalKernel::Avx2 ? std::string("Avx2")
                                                                               : std::string("Portable");
                         });

TEST(TorchRandn, SeedKeepsOnlyLow32Bits) {
  EXPECT_EQ(torch_randn(5, 40), torch_randn((uint64_t{1} << 32) + 5, 40));
  EXPECT_NE(torch_randn(5, 40), torch_randn(6, 40));
  EXPECT_EQ(TorchGenerator((uint64_t{1} << 32) + 5).seed(), (uint64_t{1} << 32) + 5);
}

TEST(TorchRandn, KernelsAgreeBelowSixteenAndNearlyAbove) {
  // Below 16 both use the double path; above, the two float kernels differ by float rounding only.
  EXPECT_EQ(torch_randn(3, 15, TorchNormalKernel::Avx2), torch_randn(3, 15, TorchNormalKernel::Portable));
  const auto a = torch_randn(3, 4096, TorchNormalKernel::Avx2);
  const auto p = torch_randn(3, 4096, TorchNormalKernel::Portable);
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - p[i]) / std::max(1.0f, std::fabs(p[i])));
  EXPECT_GT(worst, 0.0f);
  EXPECT_LE(worst, 1e-5f);
}

TEST(TorchRandn, LatentSizedDrawLooksStandardNormal) {
  const auto v = torch_randn(1234, 4 * 96 * 96);
  double sum = 0, sq = 0;
  for (float x : v) {
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sq += double(x) * x;
  }
  const double mean = sum / double(v.size()), var = sq / double(v.size()) - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.03);
  EXPECT_NEAR(var, 1.0, 0.03);
}

TEST(TorchRandn, EmptyDrawConsumesNothingAndNegativeIsAnError) {
  TorchGenerator g(9);
  EXPECT_TRUE(g.randn(0).empty());
  EXPECT_EQ(g.randn(20), torch_randn(9, 20));
  try {
    g.randn(-3);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("numel"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ezivk::test
