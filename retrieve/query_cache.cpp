#include "retrieve/query_cache.h"

#include <cstdio>

namespace quire::retrieve {

std::string QueryEmbeddingCache::key_of(const std::string& identity, const std::string& query) {
  // The identity's length first, so no (identity, query) pair can spell another's key.
  std::string key = std::to_string(identity.size());
  key += ':';
  key += identity;
  key += query;
  return key;
}

std::string QueryEmbeddingCache::embedder_identity(const engine::Embedder& embedder) {
  char address[32];
  std::snprintf(address, sizeof(address), "@%p", static_cast<const void*>(&embedder));
  std::string identity = embedder.name();
  identity += '/';
  identity += std::to_string(embedder.dim());
  identity += address;
  return identity;
}

std::optional<std::vector<float>> QueryEmbeddingCache::lookup(const std::string& identity,
                                                              const std::string& query) {
  const std::string key = key_of(identity, query);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->vector;
}

void QueryEmbeddingCache::insert(const std::string& identity, const std::string& query,
                                 std::vector<float> vector) {
  if (capacity_ == 0) return;
  std::string key = key_of(identity, query);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->vector = std::move(vector);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (lru_.size() >= capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(Entry{key, std::move(vector)});
  index_.emplace(std::move(key), lru_.begin());
}

Result<std::vector<float>> QueryEmbeddingCache::embed(engine::Embedder& embedder,
                                                      const std::string& query, bool* hit) {
  const std::string identity = embedder_identity(embedder);
  if (auto cached = lookup(identity, query)) {
    if (hit != nullptr) *hit = true;
    return std::move(*cached);
  }
  if (hit != nullptr) *hit = false;
  std::vector<std::string> texts = {query};
  QUIRE_ASSIGN_OR_RETURN(auto vectors, embedder.embed(texts));
  if (vectors.size() != 1) {
    return internal_error(std::string("the embedder returned ") + std::to_string(vectors.size()) +
                          " vectors for one query");
  }
  insert(identity, query, vectors[0]);
  return std::move(vectors[0]);
}

QueryCacheStats QueryEmbeddingCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  QueryCacheStats s;
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  s.size = static_cast<int64_t>(lru_.size());
  s.capacity = static_cast<int64_t>(capacity_);
  return s;
}

void QueryEmbeddingCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  lru_.clear();
  index_.clear();
}

}  // namespace quire::retrieve
