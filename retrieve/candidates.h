// The first retrieval stage: candidate lists from the index, the dense top-k (FAISS inner
// product against the query embedding) and the BM25 top-k (FTS5), both restricted to the
// documents a SearchFilter admits. The filter goes to the Store, which applies it inside the
// search (before the limit), so a filter never costs candidates (index/search_filter.h).
//
// Thread-safety: gather_candidates keeps no state; calls may run at once as far as the Store
// allows (its searches take its shared lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/search_filter.h"
#include "index/store.h"

namespace quire::retrieve {

struct CandidateOptions {
  bool dense = true;           // run the dense search (needs a query vector)
  bool bm25 = true;            // run the BM25 search
  int64_t dense_k = 50;        // dense hits at most
  int64_t bm25_k = 50;         // BM25 hits at most
  index::SearchFilter filter;  // which documents may be returned; empty: all
};

struct Candidates {
  // nullopt: that search did not run (as opposed to running and finding nothing).
  std::optional<std::vector<index::SearchHit>> dense;  // best first, score = inner product
  std::optional<std::vector<index::SearchHit>> bm25;   // best first, score = -bm25()
  double dense_s = 0;                                  // wall time of each search
  double bm25_s = 0;
};

// Runs the searches that `options` asks for. `query_vector` is the query's embedding
// (L2-normalized, the store's dim); it is needed only when options.dense (kFailedPrecondition
// when it is nullptr then). kInvalidArgument for negative k or a bad filter; errors of the
// store's searches are passed on with "dense search" / "BM25 search" as context.
Result<Candidates> gather_candidates(index::Store& store, const std::string& query,
                                     const std::vector<float>* query_vector,
                                     const CandidateOptions& options);

}  // namespace quire::retrieve
