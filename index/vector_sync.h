// VectorSync: the FAISS side of a Store, kept in step with SQLite (the source of truth).
//
// It holds the in-memory VectorIndex (ids = chunk rowids) and what it takes to keep it equal to
// the embedding BLOBs in SQLite:
//   - after every commit, apply() adds the new vectors and removes the deleted ones. An HNSW
//     graph cannot remove: the deleted ids are kept as "stale", skipped by every read, and the
//     graph is rebuilt before it is written. When an update fails the index is marked broken
//     and rebuilt from SQLite before its next use, so nothing committed is lost.
//   - on open, load_or_rebuild() uses vectors.<generation>.faiss when it holds exactly the
//     vectors SQLite holds, and otherwise rebuilds it from SQLite, writes it, and says why
//     (file missing, unreadable, wrong kind or dimension, other vectors) in the repair list.
//   - save() writes the current generation's file (vector_files.h: temp file + rename) and then
//     removes older generations.
//
// Thread-safety (Store's lock enforces it):
//   - const methods (searches, get, live_count, broken, needs_rebuild) may run concurrently with
//     each other and with save();
//   - save() may run concurrently with the const methods, but not with another save() nor with
//     the non-const methods;
//   - apply, clear, rebuild, repair_if_broken and load_or_rebuild need the object to themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/core/status.h"
#include "index/metadata_store.h"
#include "index/records.h"
#include "index/vector_index.h"

namespace quire::index {

class VectorSync {
 public:
  // `dir`: the store directory (files and messages). `kind`: the index kind recorded in meta.
  VectorSync(std::string dir, VectorIndexKind kind) : dir_(std::move(dir)), kind_(kind) {}

  VectorIndexKind kind() const { return kind_; }
  // Vector dimension of the embedding model; 0 for a BM25-only store. Set before the first
  // vector arrives (set_embedding_model) and on open.
  void set_dim(int64_t dim) { dim_ = dim; }

  // --- open ---
  // Makes the in-memory index match SQLite at `generation` as described above; appends what it
  // repaired (one line each) to `repairs`.
  Status load_or_rebuild(MetadataStore& meta, int64_t generation,
                         std::vector<std::string>& repairs);

  // --- after a commit (exclusive) ---
  // Brings the index in line with a committed change: `removed_ids` deleted, `added_ids` added
  // with `added_vectors` (row-major, dim floats each). On failure the index is marked broken
  // (rebuilt from SQLite before its next use) and the failure returned.
  Status apply(const std::vector<int64_t>& removed_ids, const std::vector<int64_t>& added_ids,
               const std::vector<float>& added_vectors);
  // Drops every vector (a re-embed): no index until the next vector arrives.
  void clear();
  // Replaces the index with one built from the BLOBs in SQLite (none when there are none).
  // Returns the number of vectors. kDataLoss for a BLOB of the wrong size or a BLOB without a
  // recorded model.
  Result<int64_t> rebuild(MetadataStore& meta);
  // rebuild() when broken; a no-op otherwise.
  Status repair_if_broken(MetadataStore& meta);

  // --- flush ---
  // Whether the index must be rebuilt before save() (broken, or HNSW with stale vectors).
  bool needs_rebuild() const { return broken_ || !stale_ids_.empty(); }
  // Writes vectors.<generation>.faiss when `generation` differs from the last file written or
  // loaded, then removes the other generations' files (all of them when there are no vectors).
  // Precondition: !needs_rebuild().
  Status save(int64_t generation);

  // --- reads (shared) ---
  // Whether an update failed and the index awaits rebuild (reads then need the exclusive lock).
  bool broken() const { return broken_; }
  // Vectors held, stale ones not counted.
  int64_t live_count() const;
  // The k best by inner product over every live vector, best first.
  Result<std::vector<SearchHit>> search(const float* query, int64_t k) const;
  // The k best among `allowed` (chunk ids, none of them stale), best first: min(k, allowed held).
  Result<std::vector<SearchHit>> search_among(const float* query, int64_t k,
                                              const std::vector<int64_t>& allowed) const;
  // The vectors of these ids, in the order given; ids not held (or stale) are skipped.
  Result<std::vector<ChunkVector>> get(const std::vector<int64_t>& ids) const;

 private:
  const std::string dir_;
  const VectorIndexKind kind_;
  int64_t dim_ = 0;
  std::unique_ptr<VectorIndex> vectors_;   // null until the first vector arrives
  int64_t saved_generation_ = -1;          // generation of the file that matches vectors_
  std::unordered_set<int64_t> stale_ids_;  // HNSW: deleted in SQLite, still in the graph
  bool broken_ = false;                    // an update failed: rebuild before use
};

}  // namespace quire::index
