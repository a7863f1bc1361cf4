#include "retrieve/mmr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops/ops.h"

namespace quire::retrieve {

Result<std::vector<index::SearchHit>> maximal_marginal_relevance(
    const std::vector<index::SearchHit>& ranked, const std::vector<index::ChunkVector>& vectors,
    double lambda, int64_t k) {
  if (!(lambda >= 0 && lambda <= 1)) {  // also catches NaN
    char buf[96];
    std::snprintf(buf, sizeof(buf), "MMR: lambda is %g, expected a number in [0, 1]", lambda);
    return invalid_argument_error(buf);
  }
  if (k < 0) {
    std::string message("MMR: k is ");
    message += std::to_string(k);
    message += ", expected >= 0";
    return invalid_argument_error(message);
  }
  std::unordered_map<int64_t, const std::vector<float>*> vector_of;
  size_t dim = 0;
  for (const index::ChunkVector& v : vectors) {
    if (vector_of.empty()) dim = v.vector.size();
    if (v.vector.size() != dim) {
      std::string message("MMR: the vector of chunk ");
      message += std::to_string(v.chunk_id);
      message += " has ";
      message += std::to_string(v.vector.size());
      message += " values, expected ";
      message += std::to_string(dim);
      return invalid_argument_error(message);
    }
    vector_of.emplace(v.chunk_id, &v.vector);
  }

  // The candidates, each once, in ranked order.
  struct Candidate {
    index::SearchHit hit;
    const std::vector<float>* vector = nullptr;
    double relevance = 0;
    double max_sim = 0;  // to the picked ones; meaningful once something is picked
    bool picked = false;
  };
  std::vector<Candidate> pool;
  std::unordered_set<int64_t> seen;
  for (const index::SearchHit& h : ranked) {
    if (!seen.insert(h.chunk_id).second) continue;
    auto it = vector_of.find(h.chunk_id);
    pool.push_back(Candidate{h, it == vector_of.end() ? nullptr : it->second});
  }
  if (pool.empty()) return std::vector<index::SearchHit>{};
  double lo = pool[0].hit.score, hi = pool[0].hit.score;
  for (const Candidate& c : pool) {
    lo = std::min(lo, c.hit.score);
    hi = std::max(hi, c.hit.score);
  }
  for (Candidate& c : pool) c.relevance = hi > lo ? (c.hit.score - lo) / (hi - lo) : 1.0;

  const size_t n_pick = std::min(pool.size(), static_cast<size_t>(k));
  std::vector<index::SearchHit> out;
  out.reserve(n_pick);
  for (size_t step = 0; step < n_pick; ++step) {
    size_t best = pool.size();
    double best_value = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < pool.size(); ++i) {
      const Candidate& c = pool[i];
      if (c.picked) continue;
      const double redundancy = step == 0 ? 0.0 : c.max_sim;
      const double value = lambda * c.relevance - (1 - lambda) * redundancy;
      if (value > best_value) {  // strict: ties keep the higher-ranked candidate
        best = i;
        best_value = value;
      }
    }
    Candidate& chosen = pool[best];
    chosen.picked = true;
    out.push_back(chosen.hit);
    // Keep each remaining candidate's max similarity to the picked set up to date: one dot
    // product per candidate and step instead of |S| of them.
    for (Candidate& c : pool) {
      if (c.picked) continue;
      const double sim = c.vector != nullptr && chosen.vector != nullptr
                             ? engine::ops::dot_f32(c.vector->data(), chosen.vector->data(),
                                                    static_cast<int64_t>(dim))
                             : 0.0;
      c.max_sim = step == 0 ? sim : std::max(c.max_sim, sim);
    }
  }
  return out;
}

Result<std::vector<index::SearchHit>> mmr_with_store_vectors(
    index::Store& store, const std::vector<index::SearchHit>& ranked, double lambda, int64_t k) {
  std::vector<int64_t> ids;
  ids.reserve(ranked.size());
  for (const index::SearchHit& h : ranked) ids.push_back(h.chunk_id);
  std::vector<index::ChunkVector> vectors;
  auto stored = store.get_vectors(ids);
  if (stored.ok()) {
    vectors = std::move(stored).value();
  } else if (stored.status().code() != StatusCode::kFailedPrecondition) {
    // kFailedPrecondition is a store without an embedding model: no vectors at all.
    return stored.status().with_context("MMR: reading the candidates' vectors");
  }
  return maximal_marginal_relevance(ranked, vectors, lambda, k);
}

}  // namespace quire::retrieve
