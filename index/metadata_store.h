// MetadataStore: the SQL of the index database (documents, chunks with their embedding BLOBs,
// FTS5, meta) over one SQLite connection. It knows the schema (migrations.h) and nothing of
// FAISS; Store runs it inside transactions and keeps the vector index in step with it.
//
// A MetadataStore is a cheap view: it borrows the connection (which must outlive it) and holds no
// state of its own, so Store makes one over its write connection and one over each pooled read
// connection as needed.
//
// Methods that change rows ("inside a transaction") expect the caller to have begun one
// (Transaction::begin on the same connection) and commit it; they do not bump meta 'generation'
// themselves (set_generation does).
//
// Thread-safety: that of the connection: one thread at a time per MetadataStore (and per
// SqliteDb). Views over different connections may be used concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/records.h"
#include "index/sqlite_db.h"

namespace quire::index {

class MetadataStore {
 public:
  explicit MetadataStore(SqliteDb& db) : db_(db) {}

  SqliteDb& db() { return db_; }

  // --- meta ---
  Result<std::optional<std::string>> get_meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);
  // meta 'generation'; kDataLoss when missing or not an integer.
  Result<int64_t> generation();
  Status set_generation(int64_t generation);
  // meta 'index_kind' ("flat" or "hnsw"); nullopt when not recorded yet, kDataLoss otherwise.
  Result<std::optional<VectorIndexKind>> index_kind();
  Status set_index_kind(VectorIndexKind kind);
  // The recorded embedding model; nullopt when none (BM25-only); kDataLoss when only part of it
  // is recorded or its dim is not a positive integer.
  Result<std::optional<EmbeddingModelInfo>> embedding_model();
  Status set_embedding_model(const EmbeddingModelInfo& model);

  // --- documents ---
  Result<std::optional<DocumentRecord>> find_document(const std::string& path);
  Result<std::optional<DocumentRecord>> get_document(int64_t id);
  // Every document, by path.
  Result<std::vector<DocumentRecord>> list_documents();
  // Inside a transaction: deletes the document at record.path if there is one (its chunks
  // cascade; the ids of those with a vector are appended to `removed_vector_ids`) and inserts
  // `record` (record.id ignored) keeping the old id. Returns the document id.
  Result<int64_t> replace_document(const DocumentRecord& record,
                                   std::vector<int64_t>& removed_vector_ids);
  // Inside a transaction: deletes the document and its chunks; false when there is no such id.
  Result<bool> delete_document(int64_t id);
  // Ids of documents with at least one chunk without a vector, ascending.
  Result<std::vector<int64_t>> documents_without_vectors();

  // --- chunks ---
  // Inside a transaction: inserts `chunk` (its id and doc_id ignored) into document `doc_id`
  // with `vector` as its embedding BLOB (empty: NULL, a BM25-only chunk). Returns the chunk id.
  Result<int64_t> insert_chunk(int64_t doc_id, const ChunkRecord& chunk,
                               std::span<const float> vector);
  // The chunks of a document by ord.
  Result<std::vector<ChunkRecord>> chunks_of(int64_t doc_id);
  // The chunks with these ids, in the order given; ids that do not exist are skipped.
  Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids);
  Result<int64_t> chunk_count();

  // --- embeddings ---
  // Ids of the chunks of document `doc_id` that have a vector.
  Result<std::vector<int64_t>> vector_ids_of(int64_t doc_id);
  // Ids of the chunks of these documents that have a vector, ascending.
  Result<std::vector<int64_t>> vector_ids_of_documents(const std::vector<int64_t>& doc_ids);
  // Ids of every chunk that has a vector, ascending.
  Result<std::vector<int64_t>> vector_ids();
  // Calls `visit(chunk id, BLOB bytes)` for every chunk with a vector, ascending id; stops at
  // the first error `visit` returns. The bytes are valid only during the call.
  Status for_each_embedding(
      const std::function<Status(int64_t, std::span<const std::byte>)>& visit);
  // Inside a transaction: sets every embedding to NULL; returns how many were dropped.
  Result<int64_t> drop_all_embeddings();

  // --- full text ---
  // FTS5 BM25: the k best chunks for an FTS5 MATCH expression (see bm25_query.h), best first,
  // score -bm25(), ties by chunk id. When `doc_ids` is given, only chunks of those documents
  // count (before the limit, so up to k hits from them come back).
  Result<std::vector<SearchHit>> search_fts(const std::string& match_expression, int64_t k,
                                            const std::vector<int64_t>* doc_ids = nullptr);
  // Rows of the full-text index that match (all of them for an empty expression).
  Result<int64_t> count_fts(const std::string& match_expression);

 private:
  SqliteDb& db_;
};

}  // namespace quire::index
