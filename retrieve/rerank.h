// The cross-encoder stage: re-scores fused candidates with a reranker (engine/runtime/reranker.h)
// reading each candidate's chunk text, as a SearchOptions::rerank hook.
//
// Thread-safety: the hook may run from several threads at once as far as the Store and the
// Reranker allow (both are safe; the reranker serializes its forward passes).
#pragma once

#include "engine/runtime/reranker.h"
#include "index/store.h"
#include "retrieve/retriever.h"

namespace quire::retrieve {

// The hook: scores (query, chunk text) for every candidate, returns them ordered by the
// reranker's score (ties: the earlier fused rank first), each hit's score the raw reranker
// output (higher is better; it may be negative). Candidates deleted since the search are
// dropped. With top_n >= 0 only the first top_n candidates are scored; the others follow in
// their fused order, with scores just below the lowest reranked one. `store` and `reranker`
// must outlive the hook.
RerankHook cross_encoder_hook(index::Store& store, engine::Reranker& reranker, int64_t top_n = -1);

}  // namespace quire::retrieve
