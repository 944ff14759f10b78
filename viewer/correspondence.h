#pragma once
// Where the output's locations look on the subject, from the adapter attention the engine captures: a grid of
// output points (the query grid), each with its probabilities over the subject's tokens, per transformer block, at
// every step with the subject on. The generation thread folds each step's captures into an immutable snapshot the
// UI reads; the UI chooses the aggregation (one block or all of them; the latest step or the mean over the round)
// and asks for the maps:
//   forward:  an output point -> its distribution over the subject tokens, and the share of its attention that
//             went to the subject at all (the rest went to the image's own tokens);
//   reverse:  a subject token -> how much each output point draws from it;
//   reliance: the subject share of every output point;
//   confidence: the best match, whether it is cycle consistent (output -> best token -> the output point that
//             token's attention comes most from, back within one grid cell), and how far the best match moved
//             since the previous step and since the previous round's last step.
// Only the conditional half of the guidance batch is kept: it is the one that carries the prompt.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/pipeline/events.h"

namespace ezivk::viewer {

struct Aggregation {
  int block = -1;           // index into Correspondence::blocks(), or -1 for all of them averaged
  bool round_mean = false;  // average over the steps of the round so far instead of the latest step
};

struct PointMap {
  std::vector<float> probs;  // [tokens], summing to `mass`
  double mass = 0;
  int best = -1;             // argmax token
  int back = -1;             // the query the best token's attention comes most from
  bool cycle_consistent = false;
  std::optional<double> moved_step, moved_round;  // best-match displacement in subject tokens
};

class Correspondence {
 public:
  // A query grid of gw x gh output points over a subject token grid of side x side (tokens = side²).
  Correspondence(int gw, int gh, int tokens, std::vector<std::string> blocks);

  int grid_w() const { return gw_; }
  int grid_h() const { return gh_; }
  int queries() const { return gw_ * gh_; }
  int tokens() const { return tokens_; }
  int side() const { return side_; }
  const std::vector<std::string>& blocks() const { return blocks_; }
  int round() const { return round_; }
  int step() const { return step_; }
  int steps_in_round() const { return steps_in_round_; }
  bool empty() const { return step_ < 0; }
  // The head the latest step's maps show (-1: the mean over heads), and whether the round mean spans steps captured
  // with different heads (the head was changed during the round).
  int head() const { return head_; }
  bool round_heads_mixed() const { return round_heads_mixed_; }

  // The grid point nearest to (x, y) in [0, 1] of the output, and its centre.
  int query_at(float x, float y) const;
  std::pair<float, float> query_centre(int q) const;

  // Folds one block's capture of (round, step). Returns true when that completes the step (every block captured):
  // then latest and round mean include it. A block not in blocks(), or shapes that do not fit, are an Error.
  bool add(const pipeline::AttentionCaptured& a);

  // An immutable copy for the UI (without the step being captured), and the host bytes it holds.
  std::shared_ptr<const Correspondence> snapshot() const;
  uint64_t bytes() const;

  PointMap forward(int query, const Aggregation& g) const;
  std::vector<float> reverse(int token, const Aggregation& g) const;  // [queries]
  std::vector<float> reliance(const Aggregation& g) const;            // [queries]

 private:
  struct Step {  // one aggregation level's matrices: per block, and averaged over the blocks
    std::vector<std::vector<float>> probs;  // [blocks][queries * tokens]
    std::vector<std::vector<float>> mass;   // [blocks][queries]
    std::vector<int> filled;                // [blocks]: captures added (0 or 1 for a step)
  };
  // Entry i of one block's matrix, or its mean over the blocks (block < 0).
  float at(const std::vector<std::vector<float>>& per_block, int block, size_t i) const;
  const Step& level(const Aggregation& g) const { return g.round_mean ? mean_ : latest_; }
  std::vector<int> best_tokens(const Step& s, int block) const;
  Step empty_step() const;

  int gw_, gh_, tokens_, side_;
  std::vector<std::string> blocks_;
  std::map<std::string, int> block_index_;
  int round_ = -1, step_ = -1, steps_in_round_ = 0;  // of the latest complete step
  int b_round_ = -1, b_step_ = -1;                   // of the step being captured
  int head_ = -1, b_head_ = -1;
  bool round_heads_mixed_ = false;
  Step latest_, building_, mean_;
  std::vector<int> prev_step_best_, prev_round_best_;  // all-blocks argmax per query
};

}  // namespace ezivk::viewer
