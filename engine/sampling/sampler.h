// Token sampling: the chain that turns one row of logits into the next token.
//
// The chain runs, in this order (llama.cpp's default order, minus the samplers quire lacks):
//   penalties -> top-k -> top-p -> min-p -> temperature -> softmax -> draw
// Each stage is a free function over a CandidateList so it can be tested on its own; Sampler
// strings them together and keeps the per-sequence state (token history, PRNG).
//
// Semantics:
//  - penalties (llama.cpp): for each token seen in the last `repeat_last_n` accepted tokens,
//    logit /= repeat_penalty when logit > 0, else logit *= repeat_penalty; then (OpenAI)
//    logit -= count * frequency_penalty + (count > 0) * presence_penalty.
//  - top-p and min-p look at probabilities at temperature 1 (softmax of the logits as they are
//    after the previous stages), as llama.cpp does; temperature only shapes the final draw.
//  - temperature 0 is greedy: the argmax of the penalized logits, ties going to the lowest id
//    (the rule of the conformance goldens). top-k/top-p/min-p never remove the argmax, so they
//    are skipped then.
//  - the draw is a pure function of the seed and the logits: std::mt19937_64 (whose output
//    sequence the C++ standard fixes) and a uniform double built from its top 53 bits, so the
//    same seed gives the same tokens on every platform and standard library.
//
// NaN logits count as -infinity and +infinity as the largest finite float, so a broken row of
// logits still yields a token in range instead of undefined behaviour.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

struct SamplingParams {
  float temperature = 0.8f;        // 0: greedy; must be finite and >= 0
  int32_t top_k = 40;              // <= 0: off
  float top_p = 0.95f;             // >= 1: off; must be >= 0 (0 keeps the top token only)
  float min_p = 0.05f;             // <= 0: off; must be <= 1
  float repeat_penalty = 1.0f;     // 1: off; must be > 0
  int32_t repeat_last_n = 64;      // window for the penalties: 0 off, -1 the whole history
  float frequency_penalty = 0.0f;  // 0: off; any finite value
  float presence_penalty = 0.0f;   // 0: off; any finite value
  uint64_t seed = 0;               // the draw is deterministic for a seed
};

// Checks the ranges above; kInvalidArgument naming the parameter, its value and the range.
Status validate_sampling_params(const SamplingParams& params);

struct TokenCandidate {
  TokenId id = 0;
  float logit = 0.0f;
  float p = 0.0f;  // probability; meaningful after apply_softmax (and inside top-p)
};

// The candidates still in the running. `sorted` means items are in non-increasing logit order;
// stages that need that order establish it (ties by ascending id, so results are deterministic)
// and set the flag.
struct CandidateList {
  std::vector<TokenCandidate> items;
  bool sorted = false;
};

// Fills `list` with one candidate per logit, in id order (NaN -> -inf, +inf -> FLT_MAX).
void fill_candidates(std::span<const float> logits, CandidateList& list);

// Applies the penalties for the tokens in `window` (the recent history; ids not in the list
// are ignored). repeat_penalty must be > 0. Keeps the order; clears `sorted` if anything changed.
void apply_penalties(CandidateList& list, std::span<const TokenId> window, float repeat_penalty,
                     float frequency_penalty, float presence_penalty);

// Keeps the k highest logits (ties: lower ids first), sorted. k <= 0 or k >= size: unchanged.
// One pass with a k-element heap when k is small next to the list (the usual top-k 40 of a
// 152k vocabulary), else nth_element: never a sort of the whole vocabulary.
void apply_top_k(CandidateList& list, int32_t k);

// Keeps the smallest prefix of the candidates, by descending probability (softmax of the
// logits), whose cumulative probability reaches p; at least one. p >= 1: unchanged. Sorts only
// as much of the list as the prefix needs (a growing partial sort), then the list is sorted.
void apply_top_p(CandidateList& list, float p);

// Keeps the candidates whose probability is at least p times the highest probability
// (logit >= max_logit + log p); at least one. p <= 0: unchanged. Keeps the order.
void apply_min_p(CandidateList& list, float p);

// Divides the logits by t (t > 0).
void apply_temperature(CandidateList& list, float t);

// Sets p of every candidate to the softmax of the logits (probabilities sum to 1). When the
// highest logit is -inf every candidate gets the same probability.
void apply_softmax(CandidateList& list);

// The candidate with the highest logit, ties to the lowest id. The list must not be empty.
TokenId pick_greedy(const CandidateList& list);

// Walks the list in its order and returns the first candidate whose cumulative probability
// exceeds u * (sum of p); u in [0, 1). Needs apply_softmax first. The list must not be empty.
TokenId pick_random(const CandidateList& list, double u);

// A uniform double in [0, 1) from the top 53 bits of a 64-bit PRNG output.
double uniform_from_bits(uint64_t bits);

// One sampler per sequence; not thread-safe. Cheap to move.
class Sampler {
 public:
  // Validates params (see validate_sampling_params) and n_vocab > 0.
  static Result<Sampler> create(const SamplingParams& params, int32_t n_vocab);

  // Runs the chain over one row of logits (size must be n_vocab: a caller bug otherwise, which
  // aborts) and returns the chosen token. Does not accept it: call accept() with the token the
  // sequence actually continues with.
  TokenId sample(std::span<const float> logits);

  // Appends a token to the history the penalties look at (prompt tokens too).
  void accept(TokenId token);

  // Forgets the history and restarts the PRNG from the seed.
  void reset();

  const SamplingParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  Sampler(const SamplingParams& params, int32_t n_vocab);

  bool penalties_active() const;
  std::span<const TokenId> penalty_window() const;

  SamplingParams params_;
  int32_t n_vocab_ = 0;
  std::mt19937_64 rng_;
  std::vector<TokenId> history_;  // trimmed to the window when the window is bounded
  CandidateList candidates_;      // reused between calls
};

}  // namespace quire::engine
