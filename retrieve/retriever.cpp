#include "retrieve/retriever.h"

#include <unordered_map>

#include "retrieve/fusion.h"

namespace quire::retrieve {

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

SearchMode Retriever::effective_mode(SearchMode requested) {
  if (requested == SearchMode::kBm25) return requested;
  auto vectors = store_.vector_count();
  const bool dense_possible = embedder_ != nullptr && vectors.ok() && *vectors > 0;
  if (requested == SearchMode::kHybrid && !dense_possible) return SearchMode::kBm25;
  return requested;
}

Result<std::vector<index::SearchHit>> Retriever::search_ids(const std::string& query,
                                                            const SearchOptions& options) {
  const SearchMode mode = effective_mode(options.mode);
  const int64_t n = std::max(options.candidates, options.k);
  std::vector<std::vector<index::SearchHit>> lists;
  if (mode != SearchMode::kBm25) {
    if (embedder_ == nullptr) {
      return failed_precondition_error("dense search needs an embedding model (--embed-model)");
    }
    std::vector<std::string> texts = {query};
    QUIRE_ASSIGN_OR_RETURN(auto vectors, embedder_->embed(texts));
    QUIRE_ASSIGN_OR_RETURN(auto dense, store_.search_dense(vectors[0], n));
    lists.push_back(std::move(dense));
  }
  if (mode != SearchMode::kDense) {
    QUIRE_ASSIGN_OR_RETURN(auto bm25, store_.search_bm25(query, n));
    lists.push_back(std::move(bm25));
  }
  if (lists.size() == 1) {
    auto& only = lists[0];
    if (static_cast<int64_t>(only.size()) > options.k) only.resize(static_cast<size_t>(options.k));
    return std::move(only);
  }
  return reciprocal_rank_fusion(lists, options.k);
}

Result<std::vector<SearchResult>> Retriever::search(const std::string& query,
                                                    const SearchOptions& options) {
  QUIRE_ASSIGN_OR_RETURN(auto hits, search_ids(query, options));
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.chunk_id);
  QUIRE_ASSIGN_OR_RETURN(auto chunks, store_.get_chunks(ids));
  std::unordered_map<int64_t, const index::ChunkRecord*> by_id;
  for (const auto& c : chunks) by_id[c.id] = &c;
  std::unordered_map<int64_t, index::DocumentRecord> docs;
  std::vector<SearchResult> out;
  for (const auto& h : hits) {
    auto it = by_id.find(h.chunk_id);
    if (it == by_id.end()) continue;  // removed since the search
    const index::ChunkRecord& c = *it->second;
    if (!docs.count(c.doc_id)) {
      QUIRE_ASSIGN_OR_RETURN(auto doc, store_.get_document(c.doc_id));
      if (!doc) continue;
      docs[c.doc_id] = *doc;
    }
    out.push_back(SearchResult{c, docs[c.doc_id], h.score});
  }
  return out;
}

}  // namespace quire::retrieve
