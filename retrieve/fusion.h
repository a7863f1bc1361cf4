// Combining ranked lists: reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009),
// plain and with a weight per list.
//
// Thread-safety: pure functions; any number of calls may run at once.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/status.h"
#include "index/store.h"

namespace quire::retrieve {

// score(d) = sum over lists of 1 / (rrf_k + rank_in_list(d)), ranks from 1. Returns the top `k`
// by fused score, ties broken by the smaller chunk id (deterministic).
std::vector<index::SearchHit> reciprocal_rank_fusion(
    const std::vector<std::vector<index::SearchHit>>& lists, int64_t k, double rrf_k = 60.0);

// A ranked list (best first) and how much it counts in the fusion.
struct WeightedList {
  const std::vector<index::SearchHit>* hits = nullptr;  // not owned
  double weight = 1;
};

// Weighted RRF: score(d) = sum over lists i of weight_i / (rrf_k + rank_i(d)), ranks from 1.
// A list of weight 0 is ignored altogether (its hits do not enter the result unless another
// list has them), so the result is the fusion of the other lists alone; with every weight 1 this
// is reciprocal_rank_fusion(). Top `k` by fused score, ties broken by the smaller chunk id.
// kInvalidArgument for a negative or non-finite weight, a negative or non-finite rrf_k, a null
// list, or k < 0.
Result<std::vector<index::SearchHit>> weighted_reciprocal_rank_fusion(
    const std::vector<WeightedList>& lists, int64_t k, double rrf_k = 60.0);

}  // namespace quire::retrieve
