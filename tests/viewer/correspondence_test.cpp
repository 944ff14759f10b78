// viewer::Correspondence on seeded random captures: forward, reverse and reliance maps against direct sums over the
// captured matrices, block and round-mean aggregation, cycle consistency and best-match movement on built cases,
// and captures that do not fit.
#include "viewer/correspondence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/util/error.h"

namespace ezivk::test {
namespace {

using viewer::Aggregation;
using viewer::Correspondence;

// A capture of `block` at (round, step): batch 2 (unconditional, conditional), rows normalised to `mass` per query.
struct Capture {
  std::vector<float> probs, mass;  // the conditional half: [Q * K], [Q]
  pipeline::AttentionCaptured event;
};

Capture random_capture(std::mt19937& rng, const std::string& block, int round, int step, int Q, int K) {
  std::uniform_real_distribution<float> u(0.01f, 1.f);
  Capture c;
  std::vector<float> all(size_t(2 * Q * K)), mass(size_t(2 * Q));
  for (int b = 0; b < 2; ++b)
    for (int q = 0; q < Q; ++q) {
      const float m = u(rng);
      float s = 0;
      for (int k = 0; k < K; ++k) s += all[size_t((b * Q + q) * K + k)] = u(rng) * u(rng);
      for (int k = 0; k < K; ++k) all[size_t((b * Q + q) * K + k)] *= m / s;
      mass[size_t(b * Q + q)] = m;
    }
  c.probs.assign(all.begin() + Q * K, all.end());
  c.mass.assign(mass.begin() + Q, mass.end());
  c.event.round = round;
  c.event.step = step;
  c.event.block = block;
  c.event.probs = std::make_shared<const pipeline::Snapshot>(pipeline::Snapshot{{2, Q, K}, std::move(all)});
  c.event.mass = std::make_shared<const pipeline::Snapshot>(pipeline::Snapshot{{2, Q}, std::move(mass)});
  return c;
}

TEST(Correspondence, MapsAreTheCapturedNumbersAggregatedAsChosen) {
  std::mt19937 rng(11);
  const int gw = 5, gh = 3, Q = gw * gh, K = 9;  // odd grid, 3x3 subject tokens
  Correspondence c(gw, gh, K, {"down_blocks.0.attentions.0.transformer_blocks.0", "up_blocks.2.attentions.0.transformer_blocks.0"});
  EXPECT_TRUE(c.empty());
  std::vector<std::vector<Capture>> steps;  // [step][block]
  for (int step = 4; step < 7; ++step) {
    steps.emplace_back();
    for (int b = 0; b < 2; ++b) {
      steps.back().push_back(random_capture(rng, c.blocks()[size_t(b)], 1, step, Q, K));
      EXPECT_EQ(c.add(steps.back().back().event), b == 1) << "a step completes with its last block";
    }
  }
  EXPECT_EQ(c.step(), 6);
  EXPECT_EQ(c.steps_in_round(), 3);
  for (int block : {-1, 0, 1})
    for (bool mean : {false, true}) {
      const Aggregation g{block, mean};
      // want[q][k]: the chosen blocks' mean, at the last step or over the three steps.
      auto want = [&](int q, int k, bool mass) {
        double s = 0;
        int n = 0;
        for (size_t t = mean ? 0 : 2; t < 3; ++t)
          for (int b = 0; b < 2; ++b) {
            if (block >= 0 && b != block) continue;
            s += mass ? steps[t][size_t(b)].mass[size_t(q)] : steps[t][size_t(b)].probs[size_t(q * K + k)];
            ++n;
          }
        return s / n;
      };
      for (int q = 0; q < Q; ++q) {
        const auto m = c.forward(q, g);
        ASSERT_EQ(m.probs.size(), size_t(K));
        for (int k = 0; k < K; ++k) EXPECT_NEAR(m.probs[size_t(k)], want(q, k, false), 1e-6) << block << mean << q << k;
        EXPECT_NEAR(m.mass, want(q, 0, true), 1e-6);
        EXPECT_EQ(m.best, int(std::max_element(m.probs.begin(), m.probs.end()) - m.probs.begin()));
        EXPECT_NEAR(c.reliance(g)[size_t(q)], want(q, 0, true), 1e-6);
      }
      for (int k = 0; k < K; ++k) {
        const auto r = c.reverse(k, g);
        for (int q = 0; q < Q; ++q) EXPECT_NEAR(r[size_t(q)], want(q, k, false), 1e-6);
      }
    }
  EXPECT_EQ(c.query_at(0.f, 0.f), 0);
  EXPECT_EQ(c.query_at(0.99f, 0.99f), Q - 1);
  EXPECT_EQ(c.query_at(0.5f, 0.5f), 1 * gw + 2);
  const auto [cx, cy] = c.query_centre(1 * gw + 2);
  EXPECT_FLOAT_EQ(cx, 0.5f);
  EXPECT_FLOAT_EQ(cy, 0.5f);
}

// One block, 2x2 queries over 2x2 tokens, probabilities given exactly.
pipeline::AttentionCaptured exact(int round, int step, const std::vector<float>& cond) {
  pipeline::AttentionCaptured a;
  a.round = round, a.step = step, a.block = "b";
  std::vector<float> probs(cond.size(), 0.f);
  probs.insert(probs.end(), cond.begin(), cond.end());
  a.probs = std::make_shared<const pipeline::Snapshot>(pipeline::Snapshot{{2, 4, 4}, probs});
  a.mass = std::make_shared<const pipeline::Snapshot>(pipeline::Snapshot{{2, 4}, std::vector<float>(8, 0.5f)});
  return a;
}

TEST(Correspondence, CycleConsistencyAndMovement) {
  Correspondence c(4, 1, 4, {"b"});
  // Query q looks most at token q (identity), except query 0, which looks at token 3; token 3 is looked at most by
  // query 3, three cells away: query 0 is not cycle consistent, the others are.
  c.add(exact(1, 0, {0.1f, 0.1f, 0.1f, 0.7f,  0.1f, 0.6f, 0.2f, 0.1f,  0.1f, 0.1f, 0.7f, 0.1f,  0.f, 0.1f, 0.1f, 0.8f}));
  auto m0 = c.forward(0, {});
  EXPECT_EQ(m0.best, 3);
  EXPECT_EQ(m0.back, 3);
  EXPECT_FALSE(m0.cycle_consistent);
  EXPECT_TRUE(c.forward(1, {}).cycle_consistent);
  EXPECT_FALSE(m0.moved_step.has_value());
  // Next step: query 1's best moves from token 1 (0,1)... tokens form a 2x2 grid: token 1 is (1,0), token 2 (0,1).
  c.add(exact(1, 1, {0.7f, 0.1f, 0.1f, 0.1f,  0.1f, 0.1f, 0.7f, 0.1f,  0.1f, 0.1f, 0.7f, 0.1f,  0.f, 0.1f, 0.1f, 0.8f}));
  EXPECT_NEAR(*c.forward(1, {}).moved_step, std::sqrt(2.0), 1e-9);  // (1,0) -> (0,1)
  EXPECT_NEAR(*c.forward(0, {}).moved_step, std::sqrt(2.0), 1e-9);  // token 3 (1,1) -> token 0 (0,0)
  EXPECT_NEAR(*c.forward(2, {}).moved_step, 0.0, 1e-9);
  EXPECT_FALSE(c.forward(2, {}).moved_round.has_value());
  // A new round: movement since the last step of the previous round; the round mean starts again.
  c.add(exact(2, 0, {0.1f, 0.7f, 0.1f, 0.1f,  0.1f, 0.1f, 0.7f, 0.1f,  0.1f, 0.1f, 0.7f, 0.1f,  0.f, 0.1f, 0.1f, 0.8f}));
  EXPECT_NEAR(*c.forward(0, {}).moved_round, 1.0, 1e-9);  // token 0 -> token 1
  EXPECT_EQ(c.steps_in_round(), 1);
  EXPECT_NEAR(c.forward(0, {-1, true}).probs[1], 0.7f, 1e-6);
}

// The head each step was captured with: the latest step's, and whether the round mean spans a change of head.
TEST(Correspondence, FollowsTheCapturedHead) {
  Correspondence c(4, 1, 4, {"b"});
  const std::vector<float> cond(16, 0.125f);
  auto a = exact(1, 0, cond);
  c.add(a);
  EXPECT_EQ(c.head(), -1);
  EXPECT_FALSE(c.round_heads_mixed());
  a = exact(1, 1, cond);
  a.head = 1;
  c.add(a);
  EXPECT_EQ(c.head(), 1);
  EXPECT_TRUE(c.round_heads_mixed());
  a = exact(2, 0, cond);  // a new round with one head: not mixed
  a.head = 1;
  c.add(a);
  EXPECT_FALSE(c.round_heads_mixed());
  // Two blocks of one step captured with different heads cannot be aggregated together.
  Correspondence two(4, 1, 4, {"b", "c"});
  auto b = exact(0, 0, cond), d = exact(0, 0, cond);
  d.block = "c";
  d.head = 0;
  two.add(b);
  EXPECT_THROW(two.add(d), Error);
}

TEST(Correspondence, CapturesThatDoNotFitAreNamed) {
  Correspondence c(2, 2, 4, {"b"});
  auto a = exact(0, 0, std::vector<float>(16, 0.25f));
  a.block = "other";
  EXPECT_THROW(c.add(a), Error);
  auto wrong = exact(0, 0, std::vector<float>(16, 0.25f));
  wrong.probs = std::make_shared<const pipeline::Snapshot>(pipeline::Snapshot{{2, 3, 4}, std::vector<float>(24, 0.f)});
  try {
    c.add(wrong);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ezivk::test
