#include "retrieve/retriever.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/timer.h"
#include "retrieve/candidates.h"
#include "retrieve/fusion.h"
#include "retrieve/mmr.h"

namespace quire::retrieve {
namespace {

Status bad_option(const char* what, double got, const char* expected) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "search option %s is %g, expected %s", what, got, expected);
  return invalid_argument_error(buf);
}

template <typename T>
void cut(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) > n) v.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
}

}  // namespace

std::optional<SearchMode> search_mode_from_name(std::string_view name) {
  if (name == "hybrid") return SearchMode::kHybrid;
  if (name == "dense") return SearchMode::kDense;
  if (name == "bm25") return SearchMode::kBm25;
  return std::nullopt;
}

std::string_view search_mode_name(SearchMode mode) {
  switch (mode) {
    case SearchMode::kHybrid:
      return "hybrid";
    case SearchMode::kDense:
      return "dense";
    case SearchMode::kBm25:
      return "bm25";
  }
  return "?";
}

Status check_search_options(const SearchOptions& o) {
  if (o.k < 0) return bad_option("k", static_cast<double>(o.k), ">= 0");
  if (o.candidates < 0) return bad_option("candidates", static_cast<double>(o.candidates), ">= 0");
  if (!std::isfinite(o.dense_weight) || o.dense_weight < 0) {
    return bad_option("dense_weight", o.dense_weight, "a finite number >= 0");
  }
  if (!std::isfinite(o.bm25_weight) || o.bm25_weight < 0) {
    return bad_option("bm25_weight", o.bm25_weight, "a finite number >= 0");
  }
  if (o.mode == SearchMode::kHybrid && o.dense_weight == 0 && o.bm25_weight == 0) {
    return invalid_argument_error(
        "search options dense_weight and bm25_weight are both 0: hybrid search needs one list");
  }
  if (!std::isfinite(o.rrf_k) || o.rrf_k < 0) {
    return bad_option("rrf_k", o.rrf_k, "a finite number >= 0");
  }
  if (o.mmr_lambda && !(*o.mmr_lambda >= 0 && *o.mmr_lambda <= 1)) {
    return bad_option("mmr_lambda", *o.mmr_lambda, "a number in [0, 1]");
  }
  if (o.mmr_pool < 0) return bad_option("mmr_pool", static_cast<double>(o.mmr_pool), ">= 0");
  if (o.rerank_top_n < 0) {
    return bad_option("rerank_top_n", static_cast<double>(o.rerank_top_n), ">= 0");
  }
  return index::check_search_filter(o.filter);
}

SearchMode Retriever::effective_mode(SearchMode requested) {
  if (requested == SearchMode::kBm25) return requested;
  auto vectors = store_.vector_count();
  const bool dense_possible = embedder_ != nullptr && vectors.ok() && *vectors > 0;
  if (requested == SearchMode::kHybrid && !dense_possible) return SearchMode::kBm25;
  return requested;
}

Result<std::vector<float>> Retriever::embed_query(const std::string& query,
                                                  SearchTimings& timings) {
  Timer t;
  if (cache_ != nullptr) {
    bool hit = false;
    QUIRE_ASSIGN_OR_RETURN(auto vector, cache_->embed(*embedder_, query, &hit));
    timings.embed_cached = hit;
    timings.embed_s = t.elapsed_s();
    return vector;
  }
  std::vector<std::string> texts = {query};
  QUIRE_ASSIGN_OR_RETURN(auto vectors, embedder_->embed(texts));
  timings.embed_s = t.elapsed_s();
  return std::move(vectors[0]);
}

Result<std::vector<index::SearchHit>> Retriever::search_ids(const std::string& query,
                                                            const SearchOptions& options) {
  return search_ids(query, options, nullptr);
}

Result<std::vector<index::SearchHit>> Retriever::search_ids(const std::string& query,
                                                            const SearchOptions& options,
                                                            SearchTimings* timings_out) {
  Timer total;
  SearchTimings timings;
  QUIRE_RETURN_IF_ERROR(check_search_options(options));
  const SearchMode mode = effective_mode(options.mode);
  const bool hybrid = mode == SearchMode::kHybrid;

  CandidateOptions candidates;
  candidates.dense = mode == SearchMode::kDense || (hybrid && options.dense_weight > 0);
  candidates.bm25 = mode == SearchMode::kBm25 || (hybrid && options.bm25_weight > 0);
  candidates.dense_k = candidates.bm25_k = std::max(options.candidates, options.k);
  candidates.filter = options.filter;
  std::vector<float> query_vector;
  if (candidates.dense) {
    if (embedder_ == nullptr) {
      return failed_precondition_error("dense search needs an embedding model (--embed-model)");
    }
    QUIRE_ASSIGN_OR_RETURN(query_vector, embed_query(query, timings));
  }
  QUIRE_ASSIGN_OR_RETURN(Candidates lists,
                         gather_candidates(store_, query, &query_vector, candidates));
  timings.dense_s = lists.dense_s;
  timings.bm25_s = lists.bm25_s;

  // How deep the fused list must reach for the stages after it.
  int64_t depth = options.k;
  if (options.rerank) depth = std::max(depth, options.rerank_top_n);
  if (options.mmr_lambda) depth = std::max(depth, options.mmr_pool);

  Timer t;
  std::vector<index::SearchHit> ranked;
  if (hybrid) {
    std::vector<WeightedList> weighted;
    if (lists.dense) weighted.push_back({&*lists.dense, options.dense_weight});
    if (lists.bm25) weighted.push_back({&*lists.bm25, options.bm25_weight});
    QUIRE_ASSIGN_OR_RETURN(ranked, weighted_reciprocal_rank_fusion(weighted, depth, options.rrf_k));
  } else {
    ranked = lists.dense ? std::move(*lists.dense) : std::move(*lists.bm25);
    cut(ranked, depth);
  }
  timings.fusion_s = t.elapsed_s();

  if (options.rerank) {
    t = Timer();
    cut(ranked, std::max(options.rerank_top_n, options.k));
    std::unordered_set<int64_t> given;
    for (const index::SearchHit& h : ranked) given.insert(h.chunk_id);
    auto reranked = options.rerank(query, ranked);
    if (!reranked.ok()) return reranked.status().with_context("rerank");
    ranked.clear();
    for (const index::SearchHit& h : *reranked) {
      if (given.erase(h.chunk_id) > 0) ranked.push_back(h);  // each given hit once
    }
    timings.rerank_s = t.elapsed_s();
  }

  if (options.mmr_lambda) {
    t = Timer();
    cut(ranked, std::max(options.mmr_pool, options.k));
    QUIRE_ASSIGN_OR_RETURN(ranked,
                           mmr_with_store_vectors(store_, ranked, *options.mmr_lambda, options.k));
    timings.mmr_s = t.elapsed_s();
  }
  cut(ranked, options.k);
  timings.total_s = total.elapsed_s();
  if (timings_out != nullptr) *timings_out = timings;
  return ranked;
}

Result<std::vector<SearchResult>> Retriever::search(const std::string& query,
                                                    const SearchOptions& options) {
  return search(query, options, nullptr);
}

Result<std::vector<SearchResult>> Retriever::search(const std::string& query,
                                                    const SearchOptions& options,
                                                    SearchTimings* timings_out) {
  Timer total;
  SearchTimings timings;
  QUIRE_ASSIGN_OR_RETURN(auto hits, search_ids(query, options, &timings));
  Timer t;
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.chunk_id);
  QUIRE_ASSIGN_OR_RETURN(auto chunks, store_.get_chunks(ids));
  std::unordered_map<int64_t, const index::ChunkRecord*> by_id;
  for (const auto& c : chunks) by_id[c.id] = &c;
  std::unordered_map<int64_t, std::optional<index::DocumentRecord>> docs;
  std::vector<SearchResult> out;
  for (const auto& h : hits) {
    auto it = by_id.find(h.chunk_id);
    if (it == by_id.end()) continue;  // removed since the search
    const index::ChunkRecord& c = *it->second;
    auto doc = docs.find(c.doc_id);
    if (doc == docs.end()) {
      QUIRE_ASSIGN_OR_RETURN(auto record, store_.get_document(c.doc_id));
      // The store applied the filter inside its searches; checking the rows again keeps the
      // promise local (a document replaced since, a rerank hook) at the cost of a glob match.
      if (record && !options.filter.admits(record->id, record->path)) record.reset();
      doc = docs.emplace(c.doc_id, std::move(record)).first;
    }
    if (!doc->second) continue;
    out.push_back(SearchResult{c, *doc->second, h.score});
  }
  timings.fetch_s = t.elapsed_s();
  timings.total_s = total.elapsed_s();
  if (timings_out != nullptr) *timings_out = timings;
  return out;
}

}  // namespace quire::retrieve
