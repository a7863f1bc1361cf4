#include "index/metadata_store.h"

#include <utility>

namespace quire::index {
namespace {

constexpr char kDocumentColumns[] =
    "SELECT id, path, sha256, mtime, size, title, pages, status, error, page_starts FROM "
    "documents";
constexpr char kChunkColumns[] =
    "SELECT id, doc_id, ord, page_start, page_end, char_start, char_end, n_tokens, text "
    "FROM chunks";

std::string join_offsets(const std::vector<int64_t>& offsets) {
  std::string out;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(offsets[i]);
  }
  return out;
}

// Written by join_offsets only; a malformed value (never written) reads as unknown.
std::vector<int64_t> parse_offsets(const std::string& text) {
  std::vector<int64_t> out;
  int64_t value = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      digits = true;
    } else if (c == ',' && digits) {
      out.push_back(value);
      value = 0;
      digits = false;
    } else {
      return {};
    }
  }
  if (digits) out.push_back(value);
  return out;
}

DocumentRecord read_document(const Statement& row) {
  DocumentRecord doc;
  doc.id = row.column_int64(0);
  doc.path = row.column_text(1);
  doc.sha256 = row.column_text(2);
  doc.mtime = row.column_int64(3);
  doc.size = row.column_int64(4);
  doc.title = row.column_text(5);
  doc.pages = row.column_int64(6);
  doc.status = row.column_text(7);
  doc.error = row.column_text(8);
  doc.page_starts = parse_offsets(row.column_text(9));
  return doc;
}

ChunkRecord read_chunk(const Statement& row) {
  ChunkRecord chunk;
  chunk.id = row.column_int64(0);
  chunk.doc_id = row.column_int64(1);
  chunk.ord = row.column_int64(2);
  chunk.page_start = row.column_int64(3);
  chunk.page_end = row.column_int64(4);
  chunk.char_start = row.column_int64(5);
  chunk.char_end = row.column_int64(6);
  chunk.n_tokens = row.column_int64(7);
  chunk.text = row.column_text(8);
  return chunk;
}

Result<int64_t> parse_int(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    long long value = std::stoll(text, &used);
    if (used == text.size()) return static_cast<int64_t>(value);
  } catch (const std::exception&) {
  }
  return data_loss_error(what + " is '" + text + "', expected an integer");
}

// "[1,2,3]": a list of ids bound as one parameter and read back with json_each(), so that the SQL
// text (and the cached statement) does not depend on how many ids there are.
std::string json_int_array(const std::vector<int64_t>& values) {
  std::string json = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) json += ',';
    json += std::to_string(values[i]);
  }
  json += ']';
  return json;
}

Result<std::optional<DocumentRecord>> one_document(Statement& query) {
  QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
  if (!row) return std::optional<DocumentRecord>();
  return std::optional<DocumentRecord>(read_document(query));
}

// The first column of every row, as integers.
Result<std::vector<int64_t>> int_column(Statement& query) {
  std::vector<int64_t> values;
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) break;
    values.push_back(query.column_int64(0));
  }
  return values;
}

}  // namespace

// --- meta ---

Result<std::optional<std::string>> MetadataStore::get_meta(const std::string& key) {
  QUIRE_ASSIGN_OR_RETURN(Statement query, db_.prepare("SELECT value FROM meta WHERE key = ?1"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(key));
  QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(query.column_text(0));
}

Status MetadataStore::set_meta(const std::string& key, const std::string& value) {
  QUIRE_ASSIGN_OR_RETURN(Statement upsert,
                         db_.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  QUIRE_RETURN_IF_ERROR(upsert.bind_all(key, value));
  return upsert.run();
}

Result<int64_t> MetadataStore::generation() {
  const std::string where = "database '" + db_.path() + "': meta 'generation'";
  QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> generation, get_meta("generation"));
  if (!generation.has_value()) return data_loss_error(where + " is missing");
  return parse_int(*generation, where);
}

Status MetadataStore::set_generation(int64_t generation) {
  return set_meta("generation", std::to_string(generation));
}

Result<std::optional<VectorIndexKind>> MetadataStore::index_kind() {
  QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> kind, get_meta("index_kind"));
  if (!kind.has_value()) return std::optional<VectorIndexKind>();
  for (VectorIndexKind known : {VectorIndexKind::kFlat, VectorIndexKind::kHnsw}) {
    if (*kind == vector_index_kind_name(known)) return std::optional<VectorIndexKind>(known);
  }
  return data_loss_error("database '" + db_.path() + "': meta 'index_kind' is '" + *kind +
                         "', expected flat or hnsw");
}

Status MetadataStore::set_index_kind(VectorIndexKind kind) {
  return set_meta("index_kind", vector_index_kind_name(kind));
}

Result<std::optional<EmbeddingModelInfo>> MetadataStore::embedding_model() {
  const std::string where = "database '" + db_.path() + "': meta ";
  QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> name, get_meta("embedding_model_name"));
  QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> dim, get_meta("embedding_model_dim"));
  QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> fingerprint,
                         get_meta("embedding_model_fingerprint"));
  if (!name.has_value() && !dim.has_value() && !fingerprint.has_value()) {
    return std::optional<EmbeddingModelInfo>();
  }
  if (!name.has_value() || !dim.has_value() || !fingerprint.has_value()) {
    return data_loss_error(where + "holds part of an embedding model (name, dim, fingerprint)");
  }
  EmbeddingModelInfo model;
  model.name = *name;
  model.fingerprint = *fingerprint;
  QUIRE_ASSIGN_OR_RETURN(model.dim, parse_int(*dim, where + "'embedding_model_dim'"));
  if (model.dim <= 0) return data_loss_error(where + "'embedding_model_dim' is " + *dim);
  return std::optional<EmbeddingModelInfo>(std::move(model));
}

Status MetadataStore::set_embedding_model(const EmbeddingModelInfo& model) {
  QUIRE_RETURN_IF_ERROR(set_meta("embedding_model_name", model.name));
  QUIRE_RETURN_IF_ERROR(set_meta("embedding_model_dim", std::to_string(model.dim)));
  return set_meta("embedding_model_fingerprint", model.fingerprint);
}

// --- documents ---

Result<std::optional<DocumentRecord>> MetadataStore::find_document(const std::string& path) {
  QUIRE_ASSIGN_OR_RETURN(Statement query,
                         db_.prepare(std::string(kDocumentColumns) + " WHERE path = ?1"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(path));
  return one_document(query);
}

Result<std::optional<DocumentRecord>> MetadataStore::get_document(int64_t id) {
  QUIRE_ASSIGN_OR_RETURN(Statement query,
                         db_.prepare(std::string(kDocumentColumns) + " WHERE id = ?1"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(id));
  return one_document(query);
}

Result<std::vector<DocumentRecord>> MetadataStore::list_documents() {
  QUIRE_ASSIGN_OR_RETURN(Statement query,
                         db_.prepare(std::string(kDocumentColumns) + " ORDER BY path"));
  std::vector<DocumentRecord> docs;
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) break;
    docs.push_back(read_document(query));
  }
  return docs;
}

Result<int64_t> MetadataStore::replace_document(const DocumentRecord& record,
                                                std::vector<int64_t>& removed_vector_ids) {
  QUIRE_ASSIGN_OR_RETURN(Statement find, db_.prepare("SELECT id FROM documents WHERE path = ?1"));
  QUIRE_RETURN_IF_ERROR(find.bind_all(record.path));
  QUIRE_ASSIGN_OR_RETURN(bool exists, find.step());
  std::optional<int64_t> old_id;
  if (exists) old_id = find.column_int64(0);
  find.reset();
  if (old_id.has_value()) {
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> removed, vector_ids_of(*old_id));
    removed_vector_ids.insert(removed_vector_ids.end(), removed.begin(), removed.end());
    QUIRE_ASSIGN_OR_RETURN(Statement erase, db_.prepare("DELETE FROM documents WHERE id = ?1"));
    QUIRE_RETURN_IF_ERROR(erase.bind_all(*old_id));
    QUIRE_RETURN_IF_ERROR(erase.run());
  }
  QUIRE_ASSIGN_OR_RETURN(
      Statement insert,
      db_.prepare("INSERT INTO documents(id, path, sha256, mtime, size, title, pages, status, "
                  "error, page_starts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  if (old_id.has_value()) {
    QUIRE_RETURN_IF_ERROR(insert.bind(1, *old_id));
  } else {
    QUIRE_RETURN_IF_ERROR(insert.bind_null(1));
  }
  QUIRE_RETURN_IF_ERROR(insert.bind(2, record.path));
  QUIRE_RETURN_IF_ERROR(insert.bind(3, record.sha256));
  QUIRE_RETURN_IF_ERROR(insert.bind(4, record.mtime));
  QUIRE_RETURN_IF_ERROR(insert.bind(5, record.size));
  QUIRE_RETURN_IF_ERROR(insert.bind(6, record.title));
  QUIRE_RETURN_IF_ERROR(insert.bind(7, record.pages));
  QUIRE_RETURN_IF_ERROR(insert.bind(8, record.status));
  QUIRE_RETURN_IF_ERROR(insert.bind(9, record.error));
  QUIRE_RETURN_IF_ERROR(insert.bind(10, join_offsets(record.page_starts)));
  QUIRE_RETURN_IF_ERROR(insert.run());
  return db_.last_insert_rowid();
}

Result<bool> MetadataStore::delete_document(int64_t id) {
  QUIRE_ASSIGN_OR_RETURN(Statement erase, db_.prepare("DELETE FROM documents WHERE id = ?1"));
  QUIRE_RETURN_IF_ERROR(erase.bind_all(id));
  QUIRE_RETURN_IF_ERROR(erase.run());
  return db_.changes() > 0;
}

Result<std::vector<int64_t>> MetadataStore::documents_without_vectors() {
  QUIRE_ASSIGN_OR_RETURN(
      Statement query,
      db_.prepare("SELECT DISTINCT doc_id FROM chunks WHERE embedding IS NULL ORDER BY doc_id"));
  return int_column(query);
}

// --- chunks ---

Result<int64_t> MetadataStore::insert_chunk(int64_t doc_id, const ChunkRecord& chunk,
                                            std::span<const float> vector) {
  QUIRE_ASSIGN_OR_RETURN(
      Statement insert,
      db_.prepare("INSERT INTO chunks(doc_id, ord, page_start, page_end, char_start, char_end, "
                  "n_tokens, text, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  QUIRE_RETURN_IF_ERROR(insert.bind_all(doc_id, chunk.ord, chunk.page_start, chunk.page_end,
                                        chunk.char_start, chunk.char_end, chunk.n_tokens,
                                        chunk.text));
  if (vector.empty()) {
    QUIRE_RETURN_IF_ERROR(insert.bind_null(9));
  } else {
    QUIRE_RETURN_IF_ERROR(insert.bind(9, Blob{vector.data(), vector.size_bytes()}));
  }
  QUIRE_RETURN_IF_ERROR(insert.run());
  return db_.last_insert_rowid();
}

Result<std::vector<ChunkRecord>> MetadataStore::chunks_of(int64_t doc_id) {
  QUIRE_ASSIGN_OR_RETURN(Statement query, db_.prepare(std::string(kChunkColumns) +
                                                      " WHERE doc_id = ?1 ORDER BY ord, id"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(doc_id));
  std::vector<ChunkRecord> chunks;
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) break;
    chunks.push_back(read_chunk(query));
  }
  return chunks;
}

Result<std::vector<ChunkRecord>> MetadataStore::get_chunks(const std::vector<int64_t>& ids) {
  QUIRE_ASSIGN_OR_RETURN(Statement query,
                         db_.prepare(std::string(kChunkColumns) + " WHERE id = ?1"));
  std::vector<ChunkRecord> chunks;
  chunks.reserve(ids.size());
  for (int64_t id : ids) {
    QUIRE_RETURN_IF_ERROR(query.bind_all(id));
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (row) chunks.push_back(read_chunk(query));
    query.reset();
  }
  return chunks;
}

Result<int64_t> MetadataStore::chunk_count() {
  QUIRE_ASSIGN_OR_RETURN(Statement query, db_.prepare("SELECT count(*) FROM chunks"));
  QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
  return row ? query.column_int64(0) : 0;
}

// --- embeddings ---

Result<std::vector<int64_t>> MetadataStore::vector_ids_of(int64_t doc_id) {
  QUIRE_ASSIGN_OR_RETURN(
      Statement query,
      db_.prepare("SELECT id FROM chunks WHERE doc_id = ?1 AND embedding IS NOT NULL"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(doc_id));
  return int_column(query);
}

Result<std::vector<int64_t>> MetadataStore::vector_ids_of_documents(
    const std::vector<int64_t>& doc_ids) {
  if (doc_ids.empty()) return std::vector<int64_t>();
  QUIRE_ASSIGN_OR_RETURN(
      Statement query,
      db_.prepare("SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?1)) "
                  "AND embedding IS NOT NULL ORDER BY id"));
  QUIRE_RETURN_IF_ERROR(query.bind_all(json_int_array(doc_ids)));
  return int_column(query);
}

Result<std::vector<int64_t>> MetadataStore::vector_ids() {
  QUIRE_ASSIGN_OR_RETURN(
      Statement query,
      db_.prepare("SELECT id FROM chunks WHERE embedding IS NOT NULL ORDER BY id"));
  return int_column(query);
}

Status MetadataStore::for_each_embedding(
    const std::function<Status(int64_t, std::span<const std::byte>)>& visit) {
  QUIRE_ASSIGN_OR_RETURN(
      Statement query,
      db_.prepare("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id"));
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) return ok_status();
    QUIRE_RETURN_IF_ERROR(visit(query.column_int64(0), query.column_blob(1)));
  }
}

Result<int64_t> MetadataStore::drop_all_embeddings() {
  QUIRE_RETURN_IF_ERROR(db_.exec("UPDATE chunks SET embedding = NULL WHERE embedding IS NOT NULL"));
  return db_.changes();
}

// --- full text ---

Result<std::vector<SearchHit>> MetadataStore::search_fts(const std::string& match_expression,
                                                         int64_t k,
                                                         const std::vector<int64_t>* doc_ids) {
  std::vector<SearchHit> hits;
  if (k <= 0 || match_expression.empty()) return hits;
  QUIRE_ASSIGN_OR_RETURN(
      Statement search,
      doc_ids == nullptr ? db_.prepare("SELECT rowid, bm25(chunks_fts) FROM chunks_fts "
                                       "WHERE chunks_fts MATCH ?1 "
                                       "ORDER BY bm25(chunks_fts), rowid LIMIT ?2")
                         : db_.prepare("SELECT chunks_fts.rowid, bm25(chunks_fts) FROM chunks_fts "
                                       "JOIN chunks ON chunks.id = chunks_fts.rowid "
                                       "WHERE chunks_fts MATCH ?1 "
                                       "AND chunks.doc_id IN (SELECT value FROM json_each(?3)) "
                                       "ORDER BY bm25(chunks_fts), chunks_fts.rowid LIMIT ?2"));
  QUIRE_RETURN_IF_ERROR(search.bind_all(match_expression, k));
  if (doc_ids != nullptr) QUIRE_RETURN_IF_ERROR(search.bind(3, json_int_array(*doc_ids)));
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, search.step());
    if (!row) break;
    // bm25() is lower-is-better (negative); negate so that every score is higher-is-better.
    hits.push_back(SearchHit{search.column_int64(0), -search.column_double(1)});
  }
  return hits;
}

Result<int64_t> MetadataStore::count_fts(const std::string& match_expression) {
  QUIRE_ASSIGN_OR_RETURN(
      Statement count,
      match_expression.empty()
          ? db_.prepare("SELECT count(*) FROM chunks_fts")
          : db_.prepare("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1"));
  if (!match_expression.empty()) QUIRE_RETURN_IF_ERROR(count.bind_all(match_expression));
  QUIRE_ASSIGN_OR_RETURN(bool row, count.step());
  return row ? count.column_int64(0) : 0;
}

}  // namespace quire::index
