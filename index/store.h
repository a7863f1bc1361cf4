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
// Parts (one concern per file): MetadataStore (metadata_store.h, the SQL), VectorIndex
// (vector_index.h, the FAISS adapter), VectorSync (vector_sync.h, keeping FAISS equal to SQLite:
// generations, repair on open), vector_files.h (file names, temp file + rename), bm25_query.h
// (user text -> FTS5 MATCH), search_filter.h / path_glob.h (search filters), reader_pool.h (read
// connections). Store is the facade that keeps them consistent.
//
// Thread-safety: one Store per process and directory; every method may be called from any thread.
// Inside, a std::shared_mutex orders the calls:
//   - reads run concurrently with each other: schema_version, generation, embedding_model,
//     find_document, get_document, list_documents, documents_without_vectors, chunks_of,
//     get_chunks, chunk_count, vector_count, get_vectors, search_bm25, search_dense. Each reader
//     takes its own SQLite connection from a pool (SQLite serializes the users of one
//     connection; separate connections read in parallel under WAL) and searches FAISS, whose
//     const searches are safe in parallel. A read sees one consistent state: every write that
//     returned before it began, and no part of one that has not.
//   - writes are exclusive (they wait for running reads, and reads wait for them):
//     set_embedding_model, put_document, put_failure, remove_document. They use the one write
//     connection. A waiting writer holds back reads that start after it, so a steady stream of
//     searches cannot starve it (std::shared_mutex alone prefers readers).
//   - flush() runs one at a time, concurrently with reads; it takes the exclusive lock only when
//     the FAISS index must be rebuilt first (HNSW after removals, or a failed update).
//   - A read that finds the FAISS index broken by a failed update (rare) repairs it under the
//     exclusive lock first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/bm25_query.h"
#include "index/records.h"
#include "index/search_filter.h"

namespace quire::index {

struct StoreOptions {
  // Used when the store is created; recorded in meta 'index_kind', which wins on later opens.
  VectorIndexKind index_kind = VectorIndexKind::kFlat;
};

struct RepairReport {
  bool repaired = false;
  std::string what;  // e.g. "rebuilt vectors.7.faiss from 1,204 chunk vectors (file missing)"
  int64_t temp_files_removed = 0;
};

class Store {
 public:
  // Opens or creates the store in `dir` (created if missing), runs pending migrations, removes
  // leftover temporary files, and makes FAISS agree with SQLite.
  static Result<std::unique_ptr<Store>> open(const std::string& dir,
                                             const StoreOptions& options = {});
  // Flushes (best effort: a failure is logged, and the next open() rebuilds the file). No other
  // call may be running or start.
  virtual ~Store() = default;

  // Set by open(); immutable afterwards (no lock needed).
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

  // The stored vectors of these chunks (as given to put_document, so L2-normalized when the
  // caller normalized them; dim floats each), in the order given, read from the in-memory FAISS
  // index. Like get_chunks, ids without a vector are skipped: chunks that do not exist (or were
  // deleted), BM25-only chunks, chunks whose vectors a re-embed dropped. A caller that needs to
  // know which came back reads ChunkVector::chunk_id. kFailedPrecondition on a store without an
  // embedding model (BM25-only): it holds no vectors at all.
  virtual Result<std::vector<ChunkVector>> get_vectors(const std::vector<int64_t>& ids) = 0;

  // FTS5 BM25 over chunk text (unicode61 + porter). The query is plain text; it is tokenized
  // and OR-ed (bm25_query.h), so punctuation in user input cannot break FTS5 syntax. Best
  // first; score is -bm25(). An empty query (no letters or digits) or k == 0 gives no hits;
  // k < 0 is kInvalidArgument. With a filter, only chunks of documents that pass it count, and
  // up to k of those come back (the filter is part of the SQL, applied before the limit).
  // kInvalidArgument for a bad filter (see check_search_filter).
  virtual Result<std::vector<SearchHit>> search_bm25(const std::string& query, int64_t k,
                                                     const SearchFilter& filter = {}) = 0;
  // Like search_bm25, but the query's terms (bm25_query_terms, in order, repeats dropped) must
  // occur as one phrase: adjacent and in that order, after the tokenizer's stemming. "does any
  // chunk say 'EfficientNet-B7'" is search_phrase("EfficientNet-B7", 1) non-empty. With
  // `prefix`, the last term matches any word it begins ("batch norm" finds "batch
  // normalization").
  virtual Result<std::vector<SearchHit>> search_phrase(const std::string& text, int64_t k,
                                                       const SearchFilter& filter = {},
                                                       bool prefix = false) = 0;
  // The BM25 statistics of `text`'s terms over the whole index (filters do not change them:
  // FTS5 weighs terms over every chunk). One count per term.
  virtual Result<TermStats> term_stats(const std::string& text) = 0;
  // Inner product against the (normalized) chunk vectors, best first. kFailedPrecondition on a
  // store without an embedding model; kInvalidArgument when query.size() is not its dim, k < 0,
  // or the filter is bad. Vectors of chunks deleted since the last rebuild (HNSW) are skipped.
  // With a filter, the search runs over the vectors of the documents that pass it only (a FAISS
  // IDSelector; for HNSW an exact scan of them when the graph walk falls short), so it returns
  // min(k, their vector count) hits: a filter never silently costs recall.
  virtual Result<std::vector<SearchHit>> search_dense(const std::vector<float>& query, int64_t k,
                                                      const SearchFilter& filter = {}) = 0;
};

}  // namespace quire::index
