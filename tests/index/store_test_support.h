// Helpers for the index tests: seeded unit vectors, documents and chunks, opening stores.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "index/store.h"

namespace quire::index::test_util {

inline constexpr int64_t kDim = 8;

// Inner products of unit float32 vectors of dimension 8 are exact to a few ulps of 1.0; 1e-5
// leaves room for FAISS's summation order while still telling the exact vector from any other.
inline constexpr double kScoreTolerance = 1e-5;

inline EmbeddingModelInfo test_model(std::string name = "test-embed", int64_t dim = kDim) {
  EmbeddingModelInfo model;
  model.name = std::move(name);
  model.dim = dim;
  model.fingerprint = std::string(64, model.name.back() == '2' ? 'b' : 'a');
  return model;
}

// A unit vector drawn from a normal distribution, reproducible from `seed`.
inline std::vector<float> random_unit_vector(uint32_t seed, int64_t dim = kDim) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(dim));
  double norm = 0;
  for (float& x : v) {
    x = normal(rng);
    norm += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

inline DocumentRecord make_doc(const std::string& path) {
  DocumentRecord doc;
  doc.path = path;
  doc.sha256 = std::string(64, '0');
  doc.mtime = 1700000000;
  doc.size = 1234;
  doc.title = "Title of " + path;
  doc.pages = 3;
  return doc;
}

inline std::vector<ChunkRecord> make_chunks(const std::vector<std::string>& texts) {
  std::vector<ChunkRecord> chunks;
  int64_t offset = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    ChunkRecord chunk;
    chunk.ord = static_cast<int64_t>(i);
    chunk.page_start = 1 + static_cast<int64_t>(i);
    chunk.page_end = 2 + static_cast<int64_t>(i);
    chunk.char_start = offset;
    chunk.char_end = offset + static_cast<int64_t>(texts[i].size());
    chunk.n_tokens = static_cast<int64_t>(texts[i].size() / 4 + 1);
    chunk.text = texts[i];
    offset = chunk.char_end;
    chunks.push_back(chunk);
  }
  return chunks;
}

inline std::vector<std::vector<float>> make_vectors(uint32_t first_seed, size_t n) {
  std::vector<std::vector<float>> vectors;
  for (size_t i = 0; i < n; ++i) {
    vectors.push_back(random_unit_vector(first_seed + static_cast<uint32_t>(i)));
  }
  return vectors;
}

inline std::unique_ptr<Store> open_store(const std::string& dir, const StoreOptions& options = {}) {
  auto store = Store::open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) return nullptr;
  return std::move(store).value();
}

inline std::unique_ptr<Store> open_with_model(const std::string& dir,
                                              const StoreOptions& options = {}) {
  auto store = open_store(dir, options);
  if (store == nullptr) return nullptr;
  Status status = store->set_embedding_model(test_model(), false);
  EXPECT_TRUE(status.ok()) << status.to_string();
  return store;
}

inline std::vector<int64_t> hit_ids(const std::vector<SearchHit>& hits) {
  std::vector<int64_t> ids;
  for (const SearchHit& hit : hits) ids.push_back(hit.chunk_id);
  return ids;
}

inline StoreOptions hnsw_options() {
  StoreOptions options;
  options.index_kind = VectorIndexKind::kHnsw;
  return options;
}

}  // namespace quire::index::test_util
