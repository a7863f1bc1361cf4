// An LRU cache of query embeddings, so a question asked again (a retry, the same question from
// several clients, an evaluation re-run in one process) is embedded once.
//
// Entries are keyed by the query text (exact bytes) and the embedder's identity
// (embedder_identity(): its name, dim and the address of the Embedder object), so one cache can
// serve several embedders without mixing their vectors. The address makes two Embedder objects
// distinct even for the same file (they may truncate differently); in exchange a cache must not
// hold vectors of an Embedder that has been destroyed: clear() it, or give it the embedders'
// lifetime.
//
// Thread-safety: every method may be called from any thread at once; a mutex guards the table
// and the counters. embed() runs the embedder outside the lock, so a slow miss does not block
// hits on other queries; two threads missing the same query at once both embed it (both count
// a miss) and the later one's vector replaces the earlier (the same vector: embeddings are
// deterministic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"

namespace quire::retrieve {

struct QueryCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;  // entries dropped to make room
  int64_t size = 0;       // entries held now
  int64_t capacity = 0;
};

class QueryEmbeddingCache {
 public:
  static constexpr size_t kDefaultCapacity = 256;

  // `capacity` entries at most; 0 disables caching (every embed() is a miss, nothing is kept).
  explicit QueryEmbeddingCache(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}
  QueryEmbeddingCache(const QueryEmbeddingCache&) = delete;
  QueryEmbeddingCache& operator=(const QueryEmbeddingCache&) = delete;

  // The embedding of `query` by `embedder`: from the cache (a hit, which makes the entry the most
  // recently used), or computed with embedder.embed() and stored (a miss; the least recently
  // used entry is evicted when full). `*hit` (when given) says which. Errors of the embedder
  // are returned and nothing is stored.
  Result<std::vector<float>> embed(engine::Embedder& embedder, const std::string& query,
                                   bool* hit = nullptr);

  // The lower-level pair embed() is made of. lookup counts a hit or a miss; insert stores (or
  // refreshes) an entry as the most recently used, evicting the least recently used when full.
  std::optional<std::vector<float>> lookup(const std::string& identity, const std::string& query);
  void insert(const std::string& identity, const std::string& query, std::vector<float> vector);

  QueryCacheStats stats() const;
  size_t capacity() const { return capacity_; }
  // Drops every entry (the counters stay).
  void clear();

  // "name/dim@address" of the Embedder object.
  static std::string embedder_identity(const engine::Embedder& embedder);

 private:
  struct Entry {
    std::string key;
    std::vector<float> vector;
  };
  static std::string key_of(const std::string& identity, const std::string& query);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
  int64_t evictions_ = 0;
};

}  // namespace quire::retrieve
