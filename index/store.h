// The index: SQLite (documents, chunks, FTS5, meta) as the source of truth, and a FAISS index
// of the chunk vectors derived from it.
//
// Layout of a store directory:
//   quire.db                 SQLite, WAL mode, numbered migrations; chunk vectors are kept here too
//                            (a BLOB per chunk) so the FAISS file can always be rebuilt
//   vectors.<gen>.faiss      FAISS IndexIDMap2 (ids = chunk rowids) matching meta 'generation'
// Every write that changes chunks bumps meta 'generation' in the same transaction. flush()
// writes the FAISS file for the current generation to a temporary name and renames it. open()
// loads vectors.<gen>.faiss when it matches, and otherwise rebuilds it from SQLite and reports the
// repair: a crash at any point loses nothing that a committed transaction recorded.
//
// Ids: documents and chunks use AUTOINCREMENT rowids, never reused after a deletion, so a FAISS
// id (= chunk id) or a document id held by a client cannot come to name another row.
//
// Thread-safety: one Store per process and directory; calls are serialized internally.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace quire::index {

struct DocumentRecord {
  int64_t id = 0;
  std::string path;    // as given (absolute), unique
  std::string sha256;  // content hash of the file
  int64_t mtime = 0;   // seconds since the epoch
  int64_t size = 0;    // bytes
  std::string title;
  int64_t pages = 0;
  std::string status;  // "indexed" or "failed"
  std::string error;   // why it failed
};

struct ChunkRecord {
  int64_t id = 0;  // SQLite rowid = FAISS id
  int64_t doc_id = 0;
  int64_t ord = 0;         // position within the document
  int64_t page_start = 0;  // 1-based, inclusive
  int64_t page_end = 0;
  int64_t char_start = 0;  // offsets into the document's normalized text
  int64_t char_end = 0;
  int64_t n_tokens = 0;
  std::string text;
};

struct EmbeddingModelInfo {
  std::string name;
  int64_t dim = 0;
  std::string fingerprint;  // sha256 of the model's tensor data
};

enum class VectorIndexKind { kFlat, kHnsw };

struct StoreOptions {
  // Used when the store is created; recorded in meta 'index_kind', which wins on later opens.
  VectorIndexKind index_kind = VectorIndexKind::kFlat;
};

struct RepairReport {
  bool repaired = false;
  std::string what;  // e.g. "rebuilt vectors.7.faiss from 1,204 chunk vectors (file missing)"
  int64_t temp_files_removed = 0;
};

struct SearchHit {
  int64_t chunk_id = 0;
  double score = 0;  // higher is better (inner product; negated BM25)
};

class Store {
 public:
  // Opens or creates the store in `dir` (created if missing), runs pending migrations, removes
  // leftover temporary files, and makes FAISS agree with SQLite.
  static Result<std::unique_ptr<Store>> open(const std::string& dir,
                                             const StoreOptions& options = {});
  // Flushes (best effort: a failure is logged, and the next open() rebuilds the file).
  virtual ~Store() = default;

  virtual const RepairReport& repair_report() const = 0;
  virtual int64_t schema_version() const = 0;
  virtual int64_t generation() const = 0;

  // The embedding model that built the vectors; nullopt for a BM25-only index.
  virtual Result<std::optional<EmbeddingModelInfo>> embedding_model() = 0;
  // Records the model. The same fingerprint and dim as the recorded model is a no-op. A different
  // model is refused with kFailedPrecondition naming both models and `quire index --reembed`,
  // unless `reembed`: then every stored vector is dropped (embedding BLOBs set to NULL, FAISS
  // index discarded), the new model recorded and the generation bumped, in one transaction; the
  // caller then puts every document again with new vectors (see documents_without_vectors()).
  virtual Status set_embedding_model(const EmbeddingModelInfo& model, bool reembed) = 0;

  virtual Result<std::optional<DocumentRecord>> find_document(const std::string& path) = 0;
  virtual Result<std::optional<DocumentRecord>> get_document(int64_t id) = 0;
  virtual Result<std::vector<DocumentRecord>> list_documents() = 0;

  // Replaces (or inserts) the document with doc.path, its chunks and their vectors (one per
  // chunk, or none for BM25-only) in one transaction, with status "indexed" and an empty error
  // (doc.id, doc.status, doc.error and the chunks' id and doc_id are ignored). A replaced
  // document keeps its id; its old chunks are deleted. Returns the document id.
  // kInvalidArgument: empty path, vectors.size() neither 0 nor chunks.size(), a vector whose
  // size is not the model's dim, or a non-finite value. kFailedPrecondition: vectors given to a
  // store without an embedding model. The vectors should be L2-normalized (inner product).
  virtual Result<int64_t> put_document(const DocumentRecord& doc,
                                       const std::vector<ChunkRecord>& chunks,
                                       const std::vector<std::vector<float>>& vectors) = 0;
  // Records a failed file (status "failed", its error), replacing earlier rows for the path.
  virtual Status put_failure(const DocumentRecord& doc) = 0;
  // Deletes the document, its chunks and their vectors. kNotFound when there is no such id.
  virtual Status remove_document(int64_t id) = 0;
  // Ids of documents with at least one chunk without a vector (BM25-only chunks, or every
  // document after a re-embed that has not been redone), ascending.
  virtual Result<std::vector<int64_t>> documents_without_vectors() = 0;

  // Writes the FAISS file of the current generation (temp file + rename) if it changed.
  virtual Status flush() = 0;

  virtual Result<std::vector<ChunkRecord>> chunks_of(int64_t doc_id) = 0;
  // The chunks with these ids, in the order given; ids that do not exist are skipped.
  virtual Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) = 0;
  virtual Result<int64_t> chunk_count() = 0;
  virtual Result<int64_t> vector_count() = 0;  // vectors in the FAISS index

  // FTS5 BM25 over chunk text (unicode61 + porter). The query is plain text; it is tokenized
  // and OR-ed, so punctuation in user input cannot break FTS5 syntax. Best first; score is
  // -bm25(). An empty query (no letters or digits) or k == 0 gives no hits; k < 0 is
  // kInvalidArgument.
  virtual Result<std::vector<SearchHit>> search_bm25(const std::string& query, int64_t k) = 0;
  // Inner product against the (normalized) chunk vectors, best first. kFailedPrecondition on a
  // store without an embedding model; kInvalidArgument when query.size() is not its dim or
  // k < 0. Vectors of chunks deleted since the last rebuild (HNSW) are skipped.
  virtual Result<std::vector<SearchHit>> search_dense(const std::vector<float>& query,
                                                      int64_t k) = 0;
};

}  // namespace quire::index
