// Query -> ranked chunks: dense (FAISS), BM25 (FTS5), or both fused with RRF.
//
// Thread-safety: a Retriever holds no mutable state of its own; search, search_ids and
// effective_mode may run from several threads at once, as far as the Store (searches run under
// its shared lock) and the Embedder (embed calls are serialized inside it) allow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"
#include "index/store.h"

namespace quire::retrieve {

enum class SearchMode { kHybrid, kDense, kBm25 };
std::optional<SearchMode> search_mode_from_name(std::string_view name);  // hybrid|dense|bm25
std::string_view search_mode_name(SearchMode mode);

struct SearchOptions {
  int64_t k = 10;
  SearchMode mode = SearchMode::kHybrid;
  int64_t candidates = 100;  // per list before fusion
};

struct SearchResult {
  index::ChunkRecord chunk;
  index::DocumentRecord document;
  double score = 0;
};

class Retriever {
 public:
  // `embedder` may be nullptr: then only BM25 is possible, and hybrid falls back to it (the
  // results say which mode ran).
  Retriever(index::Store& store, engine::Embedder* embedder) : store_(store), embedder_(embedder) {}

  // The mode actually used for `requested` (hybrid -> bm25 without vectors or embedder).
  SearchMode effective_mode(SearchMode requested);

  Result<std::vector<SearchResult>> search(const std::string& query, const SearchOptions& options);
  // Ranked chunk ids only (evaluation).
  Result<std::vector<index::SearchHit>> search_ids(const std::string& query,
                                                   const SearchOptions& options);

 private:
  index::Store& store_;
  engine::Embedder* embedder_;
};

}  // namespace quire::retrieve
