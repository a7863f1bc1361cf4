#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

namespace quire::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NaN cannot take part in an ordering; +inf would make softmax compute inf - inf.
float sanitize(float logit) {
  if (std::isnan(logit)) return kNegInf;
  if (logit == std::numeric_limits<float>::infinity()) return FLT_MAX;
  return logit;
}

// Descending logit, ties to the lower id: a strict weak order once NaN is gone.
bool ranks_before(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

float max_logit(const std::vector<TokenCandidate>& items) {
  float m = kNegInf;
  for (const auto& c : items) m = std::max(m, c.logit);
  return m;
}

// exp(logit - max) without inf - inf: the maximum itself (even when infinite) weighs 1.
double weight(float logit, float max) {
  return logit == max ? 1.0 : std::exp(static_cast<double>(logit) - static_cast<double>(max));
}

std::string format_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(v));
  return buf;
}

Status param_error(const char* name, const std::string& got, const char* expected) {
  return invalid_argument_error(std::string("sampling parameter ") + name + ": got " + got +
                                ", expected " + expected);
}

}  // namespace

Status validate_sampling_params(const SamplingParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f)
    return param_error("temperature", format_float(p.temperature), "a finite value >= 0");
  if (std::isnan(p.top_p) || p.top_p < 0.0f)
    return param_error("top_p", format_float(p.top_p), "a value >= 0 (>= 1 turns it off)");
  if (std::isnan(p.min_p) || p.min_p > 1.0f)
    return param_error("min_p", format_float(p.min_p), "a value <= 1 (<= 0 turns it off)");
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.0f)
    return param_error("repeat_penalty", format_float(p.repeat_penalty),
                       "a finite value > 0 (1 turns it off)");
  if (p.repeat_last_n < -1)
    return param_error("repeat_last_n", std::to_string(p.repeat_last_n),
                       ">= -1 (-1: whole history, 0: off)");
  if (!std::isfinite(p.frequency_penalty))
    return param_error("frequency_penalty", format_float(p.frequency_penalty), "a finite value");
  if (!std::isfinite(p.presence_penalty))
    return param_error("presence_penalty", format_float(p.presence_penalty), "a finite value");
  return ok_status();
}

void fill_candidates(std::span<const float> logits, CandidateList& list) {
  list.items.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    list.items[i] = TokenCandidate{static_cast<TokenId>(i), sanitize(logits[i]), 0.0f};
  }
  list.sorted = false;
}

void apply_penalties(CandidateList& list, std::span<const TokenId> window, float repeat_penalty,
                     float frequency_penalty, float presence_penalty) {
  if (window.empty() || list.items.empty()) return;
  if (repeat_penalty == 1.0f && frequency_penalty == 0.0f && presence_penalty == 0.0f) return;
  // Counts by sorting a copy of the window: no hashing, and the window is small.
  std::vector<TokenId> ids(window.begin(), window.end());
  std::sort(ids.begin(), ids.end());

  auto& items = list.items;
  std::unordered_map<TokenId, size_t> index;  // built only when the list is not in id order
  auto locate = [&](TokenId id) -> TokenCandidate* {
    if (id >= 0 && static_cast<size_t>(id) < items.size() &&
        items[static_cast<size_t>(id)].id == id)
      return &items[static_cast<size_t>(id)];
    if (index.empty()) {
      for (size_t i = 0; i < items.size(); ++i) index.emplace(items[i].id, i);
    }
    auto it = index.find(id);
    return it == index.end() ? nullptr : &items[it->second];
  };

  bool changed = false;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    const float count = static_cast<float>(j - i);
    if (TokenCandidate* c = locate(ids[i])) {
      // llama.cpp's sign rule: dividing a negative logit would make the token more likely.
      c->logit = c->logit > 0.0f ? c->logit / repeat_penalty : c->logit * repeat_penalty;
      c->logit -= count * frequency_penalty + presence_penalty;
      changed = true;
    }
    i = j;
  }
  if (changed) list.sorted = false;
}

void apply_top_k(CandidateList& list, int32_t k) {
  auto& items = list.items;
  if (k <= 0 || static_cast<size_t>(k) >= items.size()) return;
  const size_t kk = static_cast<size_t>(k);
  if (!list.sorted) {
    if (kk * 64 <= items.size()) {
      // One pass keeping the best k in a heap whose top is the worst kept: for a vocabulary
      // much larger than k almost every candidate is rejected by one comparison.
      std::vector<TokenCandidate> best(items.begin(), items.begin() + k);
      std::make_heap(best.begin(), best.end(), ranks_before);
      for (size_t i = kk; i < items.size(); ++i) {
        if (ranks_before(items[i], best.front())) {
          std::pop_heap(best.begin(), best.end(), ranks_before);
          best.back() = items[i];
          std::push_heap(best.begin(), best.end(), ranks_before);
        }
      }
      std::sort_heap(best.begin(), best.end(), ranks_before);
      std::copy(best.begin(), best.end(), items.begin());  // keeps items' capacity for reuse
    } else {
      const auto kth = items.begin() + k;
      std::nth_element(items.begin(), kth, items.end(), ranks_before);
      std::sort(items.begin(), kth, ranks_before);
    }
  }
  items.resize(kk);
  list.sorted = true;
}

void apply_top_p(CandidateList& list, float p) {
  auto& items = list.items;
  if (p >= 1.0f || items.empty()) return;
  const float max = max_logit(items);
  double sum = 0.0;
  for (const auto& c : items) sum += weight(c.logit, max);

  // Sort in growing steps: the prefix reaching p is usually a tiny part of the vocabulary.
  size_t sorted_end = list.sorted ? items.size() : 0;
  size_t keep = items.size();
  double cumulative = 0.0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i == sorted_end) {
      const size_t next = std::min(items.size(), std::max<size_t>(256, sorted_end * 4));
      // Everything before sorted_end ranks before everything after it, so sorting the next
      // block of the remainder extends the sorted prefix (nth_element + sort: O(n + m log m)).
      const auto from = items.begin() + static_cast<std::ptrdiff_t>(sorted_end);
      const auto to = items.begin() + static_cast<std::ptrdiff_t>(next);
      if (to != items.end()) std::nth_element(from, to, items.end(), ranks_before);
      std::sort(from, to, ranks_before);
      sorted_end = next;
    }
    const double prob = weight(items[i].logit, max) / sum;
    items[i].p = static_cast<float>(prob);
    cumulative += prob;
    if (cumulative >= static_cast<double>(p)) {
      keep = i + 1;
      break;
    }
  }
  items.resize(keep);
  list.sorted = true;
}

void apply_min_p(CandidateList& list, float p) {
  auto& items = list.items;
  if (p <= 0.0f || items.empty()) return;
  const float max = max_logit(items);
  // prob >= p * max_prob  <=>  logit >= max_logit + log p; rounding is monotone, so the
  // maximum always passes (log p <= 0).
  const float threshold = p >= 1.0f ? max : max + std::log(p);
  std::erase_if(items, [threshold](const TokenCandidate& c) { return c.logit < threshold; });
}

void apply_temperature(CandidateList& list, float t) {
  for (auto& c : list.items) c.logit /= t;
}

void apply_softmax(CandidateList& list) {
  auto& items = list.items;
  if (items.empty()) return;
  const float max = max_logit(items);
  double sum = 0.0;
  for (const auto& c : items) sum += weight(c.logit, max);
  for (auto& c : items) c.p = static_cast<float>(weight(c.logit, max) / sum);
}

TokenId pick_greedy(const CandidateList& list) {
  const TokenCandidate* best = &list.items.front();
  for (const auto& c : list.items) {
    if (ranks_before(c, *best)) best = &c;
  }
  return best->id;
}

TokenId pick_random(const CandidateList& list, double u) {
  double total = 0.0;
  for (const auto& c : list.items) total += c.p;
  const double target = u * total;
  double cumulative = 0.0;
  const TokenCandidate* last_positive = &list.items.front();
  for (const auto& c : list.items) {
    if (c.p <= 0.0f) continue;
    cumulative += c.p;
    last_positive = &c;
    if (cumulative > target) return c.id;
  }
  return last_positive->id;  // rounding left target just above the sum
}

double uniform_from_bits(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), rng_(params.seed) {}

Result<Sampler> Sampler::create(const SamplingParams& params, int32_t n_vocab) {
  QUIRE_RETURN_IF_ERROR(validate_sampling_params(params));
  if (n_vocab <= 0)
    return invalid_argument_error("sampler: n_vocab " + std::to_string(n_vocab) + ", expected > 0");
  return Sampler(params, n_vocab);
}

bool Sampler::penalties_active() const {
  return params_.repeat_last_n != 0 && !history_.empty() &&
         (params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
          params_.presence_penalty != 0.0f);
}

std::span<const TokenId> Sampler::penalty_window() const {
  std::span<const TokenId> all(history_);
  if (params_.repeat_last_n < 0 || all.size() <= static_cast<size_t>(params_.repeat_last_n))
    return all;
  return all.last(static_cast<size_t>(params_.repeat_last_n));
}

TokenId Sampler::sample(std::span<const float> logits) {
  if (logits.size() != static_cast<size_t>(n_vocab_)) {
    std::fprintf(stderr, "Sampler::sample: %zu logits for a vocabulary of %d\n", logits.size(),
                 n_vocab_);
    std::abort();  // a caller bug: the model and the sampler disagree on the vocabulary
  }
  const bool greedy = params_.temperature == 0.0f;
  if (greedy && !penalties_active()) {
    TokenId best = 0;
    float best_logit = sanitize(logits[0]);
    for (size_t i = 1; i < logits.size(); ++i) {
      const float l = sanitize(logits[i]);
      if (l > best_logit) {
        best_logit = l;
        best = static_cast<TokenId>(i);
      }
    }
    return best;
  }
  fill_candidates(logits, candidates_);
  if (penalties_active()) {
    apply_penalties(candidates_, penalty_window(), params_.repeat_penalty,
                    params_.frequency_penalty, params_.presence_penalty);
  }
  if (greedy) return pick_greedy(candidates_);
  apply_top_k(candidates_, params_.top_k);
  apply_top_p(candidates_, params_.top_p);
  apply_min_p(candidates_, params_.min_p);
  apply_temperature(candidates_, params_.temperature);
  apply_softmax(candidates_);
  return pick_random(candidates_, uniform_from_bits(rng_()));
}

void Sampler::accept(TokenId token) {
  const int32_t n = params_.repeat_last_n;
  if (n == 0) return;
  history_.push_back(token);
  // A bounded window keeps only its tail, trimmed in batches so accept() stays O(1) amortized.
  if (n > 0 && history_.size() >= 2 * static_cast<size_t>(n) + 64) {
    history_.erase(history_.begin(), history_.end() - n);
  }
}

void Sampler::reset() {
  history_.clear();
  rng_.seed(params_.seed);
}

}  // namespace quire::engine
