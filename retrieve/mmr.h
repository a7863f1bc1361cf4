// Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998): re-ranks a ranked list so
// that each next pick is relevant and unlike the ones already picked, which keeps near-duplicate
// chunks (the same passage in two files, two overlapping chunks) from filling the sources.
//
// With the candidates d in R (best first), the picked list S (empty at first) and λ in [0,1],
// each step picks
//     argmax over d in R \ S of  λ · rel(d) − (1 − λ) · max over s in S of sim(d, s)
// (the max term is 0 while S is empty), until k are picked or R is exhausted, where
//   rel(d)    = (score(d) − min score) / (max score − min score) over R, the candidates' own
//               scores (fused RRF, BM25 or inner product) rescaled to [0,1] so they are
//               commensurate with a cosine; 1 for every candidate when all scores are equal;
//   sim(d, s) = the dot product of their stored vectors, which are L2-normalized, so it is the
//               cosine similarity in [−1, 1];
//               0 when either chunk has no stored vector (a BM25-only chunk, or a store without an
//               embedding model): with nothing to compare, such a chunk is neither penalized as a
//               duplicate nor penalizes others, and competes on relevance alone.
// Ties go to the candidate ranked higher in R. λ = 1 gives R's order by score (relevance only);
// λ = 0 picks R's best first and then, each time, the candidate least similar to any picked.
// The hits keep their scores (the relevance they came with), so with λ < 1 the output is not
// sorted by score: its order is the order of the picks.
//
// Thread-safety: maximal_marginal_relevance is a pure function; mmr_with_store_vectors keeps no
// state and reads the Store under its shared lock.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/status.h"
#include "index/records.h"
#include "index/store.h"

namespace quire::retrieve {

// Picks up to k of `ranked` as above. `vectors` holds the stored vectors of any of them (others
// have none; ids not in `ranked` are ignored). Repeated chunk ids in `ranked` count once (the
// first). kInvalidArgument when lambda is not in [0,1], k < 0, or the vectors differ in size.
// Cost: O(|ranked| · k · dim).
Result<std::vector<index::SearchHit>> maximal_marginal_relevance(
    const std::vector<index::SearchHit>& ranked, const std::vector<index::ChunkVector>& vectors,
    double lambda, int64_t k);

// The same, with the vectors read from the store (Store::get_vectors of the ranked ids). A store
// without an embedding model holds no vectors: every sim is then 0 and the order is by score.
Result<std::vector<index::SearchHit>> mmr_with_store_vectors(
    index::Store& store, const std::vector<index::SearchHit>& ranked, double lambda, int64_t k);

}  // namespace quire::retrieve
