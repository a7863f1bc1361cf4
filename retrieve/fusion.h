// Combining ranked lists: reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009).
//
// Thread-safety: pure functions; any number of calls may run at once.
#pragma once

#include <cstdint>
#include <vector>

#include "index/store.h"

namespace quire::retrieve {

// score(d) = sum over lists of 1 / (rrf_k + rank_in_list(d)), ranks from 1. Returns the top `k`
// by fused score, ties broken by the smaller chunk id (deterministic).
std::vector<index::SearchHit> reciprocal_rank_fusion(
    const std::vector<std::vector<index::SearchHit>>& lists, int64_t k, double rrf_k = 60.0);

}  // namespace quire::retrieve
