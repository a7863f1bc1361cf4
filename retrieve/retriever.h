// Query -> ranked chunks: dense (FAISS), BM25 (FTS5), or both fused with RRF; then optional
// re-scoring (a hook for the cross-encoder of retrieve/rerank.h) and MMR diversification.
//
// The Retriever composes the stages, one file each:
//   query_cache.h  the query's embedding (once per distinct query, when a cache is given)
//   candidates.h   dense top-n and BM25 top-n, n = max(candidates, k), under options.filter
//   fusion.h       weighted reciprocal rank fusion of the two lists (hybrid mode)
//   [rerank hook]  SearchOptions::rerank over the first rerank_top_n fused hits
//   mmr.h          maximal marginal relevance over the first max(mmr_pool, k) hits
// and cuts the result to k. In dense or bm25 mode, or when hybrid falls back to BM25, the one
// list is not fused and keeps its own scores (inner product, or -bm25()). Overlap removal and
// packing (context_pack.h) come after, in the caller.
//
// Thread-safety: a Retriever holds no mutable state of its own; search, search_ids and
// effective_mode may run from several threads at once, as far as the Store (searches run under
// its shared lock), the Embedder (embed calls are serialized inside it), the query cache
// (thread-safe) and the rerank hook allow.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"
#include "index/search_filter.h"
#include "index/store.h"
#include "retrieve/query_cache.h"

namespace quire::retrieve {

enum class SearchMode { kHybrid, kDense, kBm25 };
std::optional<SearchMode> search_mode_from_name(std::string_view name);  // hybrid|dense|bm25
std::string_view search_mode_name(SearchMode mode);

// A second-stage scorer, e.g. the cross-encoder of retrieve/rerank.h: given the query and the
// fused candidates (best first), it returns them re-scored and re-ordered, best first. It may
// drop candidates; hits it adds that were not among them are ignored.
using RerankHook = std::function<Result<std::vector<index::SearchHit>>(
    const std::string& query, const std::vector<index::SearchHit>& candidates)>;

struct SearchOptions {
  int64_t k = 10;
  SearchMode mode = SearchMode::kHybrid;
  int64_t candidates = 50;     // per list (dense top-n, BM25 top-n) before fusion, n >= k
  index::SearchFilter filter;  // documents the results may come from; empty: all
  // Weighted RRF (hybrid mode): score = dense_weight / (rrf_k + dense rank) + bm25_weight /
  // (rrf_k + BM25 rank). A weight of 0 drops that list: it is not even searched (no query
  // embedding for dense_weight 0). Both >= 0, not both 0; rrf_k >= 0.
  double dense_weight = 1;
  double bm25_weight = 1;
  double rrf_k = 60;
  // MMR (mmr.h) with this λ in [0,1] (1: relevance only, 0: diversity only); off when empty.
  std::optional<double> mmr_lambda;
  int64_t mmr_pool = 50;  // fused candidates MMR picks the k results from (at least k are used)
  // Re-scoring between fusion and MMR; off when empty. It sees the first rerank_top_n fused
  // hits (at least k), and only the hits it returns go on.
  RerankHook rerank;
  int64_t rerank_top_n = 50;
};

// Wall time of each stage of one search, in seconds; 0 for a stage that did not run.
struct SearchTimings {
  double embed_s = 0;         // the query embedding (a cache lookup on a hit)
  bool embed_cached = false;  // the embedding came from the query cache
  double dense_s = 0;         // FAISS search
  double bm25_s = 0;          // FTS5 search
  double fusion_s = 0;        // RRF (or cutting the single list)
  double rerank_s = 0;        // the rerank hook
  double mmr_s = 0;           // reading the candidates' vectors and MMR
  double fetch_s = 0;         // reading chunk and document rows (search() only)
  double total_s = 0;         // the whole call
};

struct SearchResult {
  index::ChunkRecord chunk;
  index::DocumentRecord document;
  double score = 0;
};

class Retriever {
 public:
  // `embedder` may be nullptr: then only BM25 is possible, and hybrid falls back to it (the
  // results say which mode ran). `cache` (optional, not owned, must outlive the Retriever)
  // keeps query embeddings across calls.
  Retriever(index::Store& store, engine::Embedder* embedder, QueryEmbeddingCache* cache = nullptr)
      : store_(store), embedder_(embedder), cache_(cache) {}

  // The mode actually used for `requested` (hybrid -> bm25 without vectors or embedder).
  SearchMode effective_mode(SearchMode requested);

  // Results best first (with MMR: in MMR's order, scores as fused), from documents that pass
  // options.filter only. kInvalidArgument for bad options (negative sizes, weights or rrf_k, both
  // weights 0, λ outside [0,1], a bad filter glob); kFailedPrecondition for dense mode without
  // an embedder. `timings` (optional) receives the stage times.
  Result<std::vector<SearchResult>> search(const std::string& query, const SearchOptions& options);
  Result<std::vector<SearchResult>> search(const std::string& query, const SearchOptions& options,
                                           SearchTimings* timings);
  // Ranked chunk ids only (evaluation).
  Result<std::vector<index::SearchHit>> search_ids(const std::string& query,
                                                   const SearchOptions& options);
  Result<std::vector<index::SearchHit>> search_ids(const std::string& query,
                                                   const SearchOptions& options,
                                                   SearchTimings* timings);

 private:
  Result<std::vector<float>> embed_query(const std::string& query, SearchTimings& timings);

  index::Store& store_;
  engine::Embedder* embedder_;
  QueryEmbeddingCache* cache_;
};

// kInvalidArgument naming the first bad field of `options` (see Retriever::search).
Status check_search_options(const SearchOptions& options);

}  // namespace quire::retrieve
