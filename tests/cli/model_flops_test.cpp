// The analytic FLOP counts `ezivk bench` reports, against (1) the spec's figure for SD2.1-base (≈804 GFLOP per
// UNet forward at a 64×64 latent, batch 1: 3×3 convs ≈50%, transformer linears ≈32%, self-attention ≈15%) and
// (2) the matmuls and convolutions the PyTorch reference actually executes, counted by
// tests/cli/model_flops_reference.py on the tiny fixtures and on full-size SD2.1-base configs at small sizes.
#include "tools/ezivk/model_flops.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/models/sd21_base.h"
#include "tests/models/golden.h"

namespace ezivk::test {
namespace {

using cli::FlopCount;

FlopCount sd21_unet(int64_t batch, int64_t h, int64_t w) {
  return cli::unet_flops(models::UNetConfig::from_json(models::sd21_base_config("unet")), batch, h, w, 77);
}

TEST(ModelFlops, Sd21BaseUNetMatchesTheSpecFigure) {
  const FlopCount f = sd21_unet(1, 64, 64);
  const double total = double(f.total());
  EXPECT_NEAR(total / 1e9, 804.0, 1.0);
  EXPECT_NEAR(double(f.conv) / total, 0.50, 0.025);  // 3×3 convs 50%, plus the 1×1 shortcuts
  EXPECT_NEAR(double(f.linear) / total, 0.32, 0.01);
  EXPECT_NEAR(double(f.attention) / total, 0.15, 0.01);  // self-attention 15%, cross-attention < 1%
  // Every term is per batch item.
  EXPECT_EQ(sd21_unet(2, 64, 64).total(), 2 * f.total());
}

FlopCount count_case(const nlohmann::json& c) {
  const std::string model = c.at("model"), comp = c.at("component");
  const auto& s = c.at("shape");
  auto config = [&](const std::string& component) {
    return model == "sd21-base" ? models::sd21_base_config(component)
                                : io::JsonFile(model_dir(model) / component / "config.json");
  };
  if (comp == "unet")
    return cli::unet_flops(models::UNetConfig::from_json(config("unet")), s[0], s[1], s[2], c.at("context_tokens"));
  if (comp == "vae_decode") return cli::vae_decode_flops(models::VaeConfig::from_json(config("vae")), s[0], s[1], s[2]);
  if (comp == "vae_encode") return cli::vae_encode_flops(models::VaeConfig::from_json(config("vae")), s[0], s[1], s[2]);
  if (comp == "text")
    return cli::text_encoder_flops(models::ClipTextConfig::from_json(config("text_encoder")), s[0], s[1]);
  ADD_FAILURE() << "unknown component " << comp;
  return {};
}

TEST(ModelFlops, MatchesTheReferenceForwardsOpForOp) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "model_flops_reference.json";
  std::ifstream f(path);
  ASSERT_TRUE(f) << path;
  const auto j = nlohmann::json::parse(f);
  int checked = 0;
  for (const auto& c : j.at("cases")) {
    const FlopCount got = count_case(c);
    const std::string what = c.at("model").get<std::string>() + " " + c.at("component").get<std::string>() + " " +
                             c.at("shape").dump();
    EXPECT_EQ(got.conv, c.at("conv").get<int64_t>()) << what;
    EXPECT_EQ(got.linear, c.at("linear").get<int64_t>()) << what;
    EXPECT_EQ(got.attention, c.at("attention").get<int64_t>()) << what;
    ++checked;
  }
  EXPECT_EQ(checked, 19);  // every component of both tiny models and of SD2.1-base
}

}  // namespace
}  // namespace ezivk::test
