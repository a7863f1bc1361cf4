// The FAISS adapter: an IndexIDMap2 (ids = chunk rowids) over an exact inner-product index
// (IndexFlatIP) or an HNSW graph (IndexHNSWFlat, METRIC_INNER_PRODUCT, M = 32).
//
// File format: the bytes of faiss::write_index, then a 24-byte footer: the magic "QVECSUM1",
// the number of FAISS bytes and a 64-bit checksum of them (both little-endian u64). load()
// verifies the footer before FAISS parses anything, so truncation and bit rot are reported as
// kDataLoss instead of loading wrong vectors; FAISS itself ignores the trailing footer.
//
// Every FAISS call is wrapped: faiss::FaissException and std::bad_alloc never leave this file;
// they come back as a Status (kInternal, kResourceExhausted, or kDataLoss for an unreadable
// file). HNSW cannot remove vectors: remove() answers kUnimplemented and the owner rebuilds.
//
// Thread-safety: the const methods (search, search_among, reconstruct, ids, size, save) may run
// concurrently with each other; add and remove need the index to themselves (Store holds its
// lock exclusively for them and shared for the rest).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/records.h"

namespace faiss {
struct Index;
template <typename IndexT>
struct IndexIDMap2Template;
using IndexIDMap2 = IndexIDMap2Template<Index>;
}  // namespace faiss

namespace quire::index {

// HNSW parameters: graph degree, and the breadth of the candidate lists when building and
// searching (FAISS's defaults, 40 and 16, lose recall at the k used by retrieval).
inline constexpr int kHnswM = 32;
inline constexpr int kHnswEfConstruction = 80;
inline constexpr int kHnswEfSearch = 64;
// A filtered HNSW search over at most this many allowed vectors scans them exactly instead of
// walking the graph: cheaper at this size (dim multiply-adds each), and exact.
inline constexpr int64_t kHnswExactScanMax = 1024;

class VectorIndex {
 public:
  // An empty index of `dim`-dimensional vectors.
  static Result<std::unique_ptr<VectorIndex>> create(VectorIndexKind kind, int64_t dim);
  // Reads a file written by save(). kDataLoss when it is truncated or damaged (footer or
  // checksum), unreadable by FAISS, or not an index this adapter writes (IndexIDMap2 over
  // IndexFlatIP or inner-product IndexHNSWFlat).
  static Result<std::unique_ptr<VectorIndex>> load(const std::string& path);

  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  VectorIndexKind kind() const { return kind_; }
  int64_t dim() const { return dim_; }
  int64_t size() const;  // vectors held
  bool supports_remove() const { return kind_ == VectorIndexKind::kFlat; }

  // Adds ids.size() vectors, row-major in `vectors` (ids.size() * dim floats).
  Status add(const std::vector<int64_t>& ids, const std::vector<float>& vectors);
  // Removes the vectors with these ids (absent ids are ignored); returns how many were removed.
  Result<int64_t> remove(const std::vector<int64_t>& ids);
  // The k best by inner product, best first; fewer when the index holds fewer.
  Result<std::vector<SearchHit>> search(const float* query, int64_t k) const;
  // The k best among the vectors whose ids are in `allowed` (ids not held are ignored;
  // duplicates count once), best first: exactly min(k, allowed ids held) hits. Flat: the exact
  // scan restricted by a FAISS IDSelector. HNSW: an exact scan of the allowed vectors when they
  // are at most kHnswExactScanMax; otherwise the graph search restricted by the IDSelector with
  // efSearch widened to k, and, when that walk falls short of the count (a restrictive filter
  // can strand it), the exact scan after all.
  Result<std::vector<SearchHit>> search_among(const float* query, int64_t k,
                                              const std::vector<int64_t>& allowed) const;
  // Copies the vector stored under `id` into `out` (dim() floats); false when it is not held.
  Result<bool> reconstruct(int64_t id, float* out) const;
  // The ids held, in insertion order.
  std::vector<int64_t> ids() const;

  // Writes the index and its footer to `path` and fsyncs it (the caller renames it into place).
  Status save(const std::string& path) const;

 private:
  VectorIndex(VectorIndexKind kind, int64_t dim, std::unique_ptr<faiss::IndexIDMap2> index);

  VectorIndexKind kind_;
  int64_t dim_;
  std::unique_ptr<faiss::IndexIDMap2> index_;
};

}  // namespace quire::index
