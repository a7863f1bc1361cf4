#include "index/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "engine/core/crash_point.h"
#include "engine/core/format.h"
#include "engine/core/log.h"
#include "index/migrations.h"
#include "index/sqlite_db.h"
#include "index/vector_index.h"

namespace quire::index {
namespace {

namespace fs = std::filesystem;

constexpr char kDatabaseFile[] = "quire.db";
constexpr size_t kMaxQueryTerms = 64;     // more terms add latency, not recall
constexpr size_t kRebuildBatch = 4096;    // vectors per FAISS add while rebuilding
constexpr size_t kFingerprintShown = 16;  // hex digits of a fingerprint in messages

constexpr char kDocumentColumns[] =
    "SELECT id, path, sha256, mtime, size, title, pages, status, error FROM documents";
constexpr char kChunkColumns[] =
    "SELECT id, doc_id, ord, page_start, page_end, char_start, char_end, n_tokens, text "
    "FROM chunks";

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

std::string short_fingerprint(const std::string& fingerprint) {
  return fingerprint.size() > kFingerprintShown ? fingerprint.substr(0, kFingerprintShown) + "..."
                                                : fingerprint;
}

std::string describe_model(const EmbeddingModelInfo& model) {
  return "'" + model.name + "' (dim " + std::to_string(model.dim) + ", fingerprint " +
         short_fingerprint(model.fingerprint) + ")";
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

// The terms of a user query: maximal runs of ASCII letters and digits, or of non-ASCII bytes
// (UTF-8 sequences, so words in any script survive; unicode61 splits them further inside the
// quotes). Lowercased, de-duplicated, at most kMaxQueryTerms.
std::vector<std::string> query_terms(const std::string& query) {
  std::vector<std::string> terms;
  std::unordered_set<std::string> seen;
  std::string term;
  auto finish = [&] {
    if (!term.empty() && terms.size() < kMaxQueryTerms && seen.insert(term).second) {
      terms.push_back(term);
    }
    term.clear();
  };
  for (char c : query) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || std::isalnum(byte)) {
      term += byte < 0x80 ? static_cast<char>(std::tolower(byte)) : c;
    } else {
      finish();
    }
  }
  finish();
  return terms;
}

// An FTS5 expression that matches any of the terms. Each term is a quoted string, and the terms
// hold no '"' (it separates terms), so nothing in the input is read as FTS5 syntax.
std::string fts5_any_of(const std::vector<std::string>& terms) {
  std::string expression;
  for (const std::string& term : terms) {
    if (!expression.empty()) expression += " OR ";
    expression += '"';
    expression += term;
    expression += '"';
  }
  return expression;
}

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "opening directory '" + dir + "'");
  Status status;
  if (::fsync(fd) != 0) status = errno_error(errno, "fsync directory '" + dir + "'");
  ::close(fd);
  return status;
}

// "vectors.<n>.faiss" -> n; nullopt for any other name.
std::optional<int64_t> vectors_file_generation(const std::string& name) {
  constexpr std::string_view kPrefix = "vectors.";
  constexpr std::string_view kSuffix = ".faiss";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

bool is_temp_vectors_file(const std::string& name) {
  return name.starts_with("vectors.") && name.find(".tmp.") != std::string::npos;
}

class StoreImpl final : public Store {
 public:
  StoreImpl(std::string dir, std::unique_ptr<SqliteDb> db)
      : dir_(std::move(dir)), db_(std::move(db)) {}

  ~StoreImpl() override {
    std::lock_guard lock(mu_);
    if (!initialized_) return;  // open() failed: leave the files as they are
    Status status = flush_locked();
    if (!status.ok()) {
      QUIRE_LOG_WARN("index '%s': flush on close failed (the next open rebuilds it): %s",
                     dir_.c_str(), status.to_string().c_str());
    }
  }

  // Everything open() does after the database is open and migrated.
  Status initialize(const StoreOptions& options, int64_t temp_files_removed,
                    const std::vector<std::string>& temp_names) {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(schema_version_, read_schema_version(*db_));
    QUIRE_RETURN_IF_ERROR(load_meta(options));

    std::vector<std::string> repairs;
    if (temp_files_removed > 0) {
      std::string names;
      for (const std::string& name : temp_names) names += (names.empty() ? "" : ", ") + name;
      repairs.push_back("removed " + format_grouped(temp_files_removed) + " temporary file" +
                        (temp_files_removed == 1 ? "" : "s") + " (" + names + ")");
    }
    QUIRE_RETURN_IF_ERROR(load_or_rebuild_vectors(repairs));

    repair_.temp_files_removed = temp_files_removed;
    repair_.repaired = !repairs.empty();
    for (const std::string& repair : repairs) {
      repair_.what += (repair_.what.empty() ? "" : "; ") + repair;
    }
    if (repair_.repaired) {
      QUIRE_LOG_WARN("index '%s': repaired: %s", dir_.c_str(), repair_.what.c_str());
    }
    initialized_ = true;
    return ok_status();
  }

  const RepairReport& repair_report() const override { return repair_; }

  int64_t schema_version() const override {
    std::lock_guard lock(mu_);
    return schema_version_;
  }

  int64_t generation() const override {
    std::lock_guard lock(mu_);
    return generation_;
  }

  Result<std::optional<EmbeddingModelInfo>> embedding_model() override {
    std::lock_guard lock(mu_);
    return model_;
  }

  Status set_embedding_model(const EmbeddingModelInfo& model, bool reembed) override {
    if (model.name.empty() || model.fingerprint.empty() || model.dim <= 0 || model.dim > 65536) {
      return invalid_argument_error("embedding model " + describe_model(model) +
                                    ": expected a name, a fingerprint and a dim in 1..65536");
    }
    std::lock_guard lock(mu_);
    if (model_.has_value() && model_->fingerprint == model.fingerprint &&
        model_->dim == model.dim) {
      return ok_status();
    }
    if (model_.has_value() && !reembed) {
      return failed_precondition_error(
          "index '" + dir_ + "' was embedded with model " + describe_model(*model_) + ", not " +
          describe_model(model) +
          "; re-embed every document with the new model: quire index --reembed");
    }
    const bool dropping = model_.has_value();
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    int64_t dropped = 0;
    if (dropping) {
      QUIRE_RETURN_IF_ERROR(
          db_->exec("UPDATE chunks SET embedding = NULL WHERE embedding IS NOT NULL"));
      dropped = db_->changes();
    }
    QUIRE_RETURN_IF_ERROR(set_meta("embedding_model_name", model.name));
    QUIRE_RETURN_IF_ERROR(set_meta("embedding_model_dim", std::to_string(model.dim)));
    QUIRE_RETURN_IF_ERROR(set_meta("embedding_model_fingerprint", model.fingerprint));
    const int64_t generation = dropping ? generation_ + 1 : generation_;
    if (dropping) QUIRE_RETURN_IF_ERROR(set_meta("generation", std::to_string(generation)));
    QUIRE_RETURN_IF_ERROR(transaction.commit());

    if (dropping) {
      QUIRE_LOG_INFO("index '%s': embedding model %s replaced by %s: dropped %lld vectors",
                     dir_.c_str(), describe_model(*model_).c_str(), describe_model(model).c_str(),
                     static_cast<long long>(dropped));
      generation_ = generation;
      vectors_.reset();
      stale_ids_.clear();
      vectors_broken_ = false;
    }
    model_ = model;
    return ok_status();
  }

  Result<std::optional<DocumentRecord>> find_document(const std::string& path) override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query,
                           db_->prepare(std::string(kDocumentColumns) + " WHERE path = ?1"));
    QUIRE_RETURN_IF_ERROR(query.bind_all(path));
    return one_document(query);
  }

  Result<std::optional<DocumentRecord>> get_document(int64_t id) override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query,
                           db_->prepare(std::string(kDocumentColumns) + " WHERE id = ?1"));
    QUIRE_RETURN_IF_ERROR(query.bind_all(id));
    return one_document(query);
  }

  Result<std::vector<DocumentRecord>> list_documents() override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query,
                           db_->prepare(std::string(kDocumentColumns) + " ORDER BY path"));
    std::vector<DocumentRecord> docs;
    while (true) {
      QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
      if (!row) break;
      docs.push_back(read_document(query));
    }
    return docs;
  }

  Result<int64_t> put_document(const DocumentRecord& doc, const std::vector<ChunkRecord>& chunks,
                               const std::vector<std::vector<float>>& vectors) override {
    std::lock_guard lock(mu_);
    QUIRE_RETURN_IF_ERROR(check_vectors(doc, chunks, vectors));
    DocumentRecord record = doc;
    record.status = "indexed";
    record.error.clear();

    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    std::vector<int64_t> removed_ids;
    QUIRE_ASSIGN_OR_RETURN(int64_t doc_id, replace_document_row(record, removed_ids));
    QUIRE_ASSIGN_OR_RETURN(
        Statement insert,
        db_->prepare("INSERT INTO chunks(doc_id, ord, page_start, page_end, char_start, char_end, "
                     "n_tokens, text, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    std::vector<int64_t> added_ids;
    std::vector<float> added_vectors;
    added_vectors.reserve(vectors.size() * (vectors.empty() ? 0 : vectors[0].size()));
    for (size_t i = 0; i < chunks.size(); ++i) {
      const ChunkRecord& chunk = chunks[i];
      QUIRE_RETURN_IF_ERROR(insert.bind_all(doc_id, chunk.ord, chunk.page_start, chunk.page_end,
                                            chunk.char_start, chunk.char_end, chunk.n_tokens,
                                            chunk.text));
      if (vectors.empty()) {
        QUIRE_RETURN_IF_ERROR(insert.bind_null(9));
      } else {
        const std::vector<float>& vector = vectors[i];
        QUIRE_RETURN_IF_ERROR(insert.bind(9, Blob{vector.data(), vector.size() * sizeof(float)}));
      }
      QUIRE_RETURN_IF_ERROR(insert.run());
      insert.reset();
      if (!vectors.empty()) {
        added_ids.push_back(db_->last_insert_rowid());
        added_vectors.insert(added_vectors.end(), vectors[i].begin(), vectors[i].end());
      }
    }
    QUIRE_RETURN_IF_ERROR(set_meta("generation", std::to_string(generation_ + 1)));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;

    QUIRE_RETURN_IF_ERROR(
        apply_vector_changes(removed_ids, added_ids, added_vectors)
            .with_context("document '" + doc.path + "' was committed, but updating its vectors"));
    return doc_id;
  }

  Status put_failure(const DocumentRecord& doc) override {
    if (doc.path.empty()) return invalid_argument_error("put_failure: empty document path");
    std::lock_guard lock(mu_);
    DocumentRecord record = doc;
    record.status = "failed";
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    std::vector<int64_t> removed_ids;
    QUIRE_ASSIGN_OR_RETURN(int64_t doc_id, replace_document_row(record, removed_ids));
    (void)doc_id;
    QUIRE_RETURN_IF_ERROR(set_meta("generation", std::to_string(generation_ + 1)));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;
    return apply_vector_changes(removed_ids, {}, {})
        .with_context("failure of '" + doc.path + "' was committed, but removing its old vectors");
  }

  Status remove_document(int64_t id) override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> removed_ids, vector_ids_of(id));
    QUIRE_ASSIGN_OR_RETURN(Statement erase, db_->prepare("DELETE FROM documents WHERE id = ?1"));
    QUIRE_RETURN_IF_ERROR(erase.bind_all(id));
    QUIRE_RETURN_IF_ERROR(erase.run());
    if (db_->changes() == 0) {
      return not_found_error("index '" + dir_ + "': no document with id " + std::to_string(id));
    }
    QUIRE_RETURN_IF_ERROR(set_meta("generation", std::to_string(generation_ + 1)));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;
    return apply_vector_changes(removed_ids, {}, {})
        .with_context("removal of document " + std::to_string(id) +
                      " was committed, but removing its vectors");
  }

  Result<std::vector<int64_t>> documents_without_vectors() override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(
        Statement query,
        db_->prepare("SELECT DISTINCT doc_id FROM chunks WHERE embedding IS NULL ORDER BY doc_id"));
    std::vector<int64_t> ids;
    while (true) {
      QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
      if (!row) break;
      ids.push_back(query.column_int64(0));
    }
    return ids;
  }

  Status flush() override {
    std::lock_guard lock(mu_);
    return flush_locked();
  }

  Result<std::vector<ChunkRecord>> chunks_of(int64_t doc_id) override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query, db_->prepare(std::string(kChunkColumns) +
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

  Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query,
                           db_->prepare(std::string(kChunkColumns) + " WHERE id = ?1"));
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

  Result<int64_t> chunk_count() override {
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement query, db_->prepare("SELECT count(*) FROM chunks"));
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    return row ? query.column_int64(0) : 0;
  }

  Result<int64_t> vector_count() override {
    std::lock_guard lock(mu_);
    QUIRE_RETURN_IF_ERROR(repair_if_broken());
    if (vectors_ == nullptr) return int64_t{0};
    return vectors_->size() - static_cast<int64_t>(stale_ids_.size());
  }

  Result<std::vector<SearchHit>> search_bm25(const std::string& query, int64_t k) override {
    if (k < 0) return invalid_argument_error("search_bm25: k = " + std::to_string(k));
    std::vector<SearchHit> hits;
    const std::vector<std::string> terms = query_terms(query);
    if (k == 0 || terms.empty()) return hits;
    std::lock_guard lock(mu_);
    QUIRE_ASSIGN_OR_RETURN(Statement search,
                           db_->prepare("SELECT rowid, bm25(chunks_fts) FROM chunks_fts "
                                        "WHERE chunks_fts MATCH ?1 "
                                        "ORDER BY bm25(chunks_fts), rowid LIMIT ?2"));
    QUIRE_RETURN_IF_ERROR(search.bind_all(fts5_any_of(terms), k));
    while (true) {
      auto row = search.step();
      if (!row.ok()) return row.status().with_context("BM25 search for '" + query + "'");
      if (!*row) break;
      // bm25() is lower-is-better (negative); negate so that every score is higher-is-better.
      hits.push_back(SearchHit{search.column_int64(0), -search.column_double(1)});
    }
    return hits;
  }

  Result<std::vector<SearchHit>> search_dense(const std::vector<float>& query, int64_t k) override {
    if (k < 0) return invalid_argument_error("search_dense: k = " + std::to_string(k));
    std::lock_guard lock(mu_);
    if (!model_.has_value()) {
      return failed_precondition_error("index '" + dir_ +
                                       "' has no embedding model (BM25-only): no dense search");
    }
    if (static_cast<int64_t>(query.size()) != model_->dim) {
      return invalid_argument_error(
          "search_dense: query vector of dimension " + std::to_string(query.size()) +
          ", expected " + std::to_string(model_->dim) + " (model '" + model_->name + "')");
    }
    std::vector<SearchHit> hits;
    if (k == 0) return hits;
    QUIRE_RETURN_IF_ERROR(repair_if_broken());
    if (vectors_ == nullptr) return hits;
    // Over-fetch by the number of stale vectors so that k live ones remain after skipping.
    const int64_t fetch = k + static_cast<int64_t>(stale_ids_.size());
    QUIRE_ASSIGN_OR_RETURN(std::vector<SearchHit> found, vectors_->search(query.data(), fetch));
    for (const SearchHit& hit : found) {
      if (stale_ids_.contains(hit.chunk_id)) continue;
      hits.push_back(hit);
      if (static_cast<int64_t>(hits.size()) == k) break;
    }
    return hits;
  }

 private:
  // --- meta ---

  Result<std::optional<std::string>> get_meta(const std::string& key) {
    QUIRE_ASSIGN_OR_RETURN(Statement query, db_->prepare("SELECT value FROM meta WHERE key = ?1"));
    QUIRE_RETURN_IF_ERROR(query.bind_all(key));
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(query.column_text(0));
  }

  Status set_meta(const std::string& key, const std::string& value) {
    QUIRE_ASSIGN_OR_RETURN(Statement upsert,
                           db_->prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    QUIRE_RETURN_IF_ERROR(upsert.bind_all(key, value));
    return upsert.run();
  }

  Status load_meta(const StoreOptions& options) {
    const std::string where = "index '" + dir_ + "': meta ";
    QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> generation, get_meta("generation"));
    if (!generation.has_value()) return data_loss_error(where + "'generation' is missing");
    QUIRE_ASSIGN_OR_RETURN(generation_, parse_int(*generation, where + "'generation'"));

    QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> kind, get_meta("index_kind"));
    if (!kind.has_value()) {
      kind_ = options.index_kind;
      QUIRE_RETURN_IF_ERROR(set_meta("index_kind", vector_index_kind_name(kind_)));
    } else if (*kind == vector_index_kind_name(VectorIndexKind::kFlat)) {
      kind_ = VectorIndexKind::kFlat;
    } else if (*kind == vector_index_kind_name(VectorIndexKind::kHnsw)) {
      kind_ = VectorIndexKind::kHnsw;
    } else {
      return data_loss_error(where + "'index_kind' is '" + *kind + "', expected flat or hnsw");
    }
    if (kind_ != options.index_kind) {
      QUIRE_LOG_INFO("index '%s': keeps its vector index kind '%s' ('%s' was asked for)",
                     dir_.c_str(), vector_index_kind_name(kind_),
                     vector_index_kind_name(options.index_kind));
    }

    QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> name, get_meta("embedding_model_name"));
    QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> dim, get_meta("embedding_model_dim"));
    QUIRE_ASSIGN_OR_RETURN(std::optional<std::string> fingerprint,
                           get_meta("embedding_model_fingerprint"));
    if (name.has_value() && dim.has_value() && fingerprint.has_value()) {
      EmbeddingModelInfo model;
      model.name = *name;
      model.fingerprint = *fingerprint;
      QUIRE_ASSIGN_OR_RETURN(model.dim, parse_int(*dim, where + "'embedding_model_dim'"));
      if (model.dim <= 0) return data_loss_error(where + "'embedding_model_dim' is " + *dim);
      model_ = std::move(model);
    } else if (name.has_value() || dim.has_value() || fingerprint.has_value()) {
      return data_loss_error(where + "holds part of an embedding model (name, dim, fingerprint)");
    }
    return ok_status();
  }

  // --- documents ---

  static Result<std::optional<DocumentRecord>> one_document(Statement& query) {
    QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
    if (!row) return std::optional<DocumentRecord>();
    return std::optional<DocumentRecord>(read_document(query));
  }

  Status check_vectors(const DocumentRecord& doc, const std::vector<ChunkRecord>& chunks,
                       const std::vector<std::vector<float>>& vectors) const {
    const std::string where = "put_document '" + doc.path + "': ";
    if (doc.path.empty()) return invalid_argument_error("put_document: empty document path");
    if (vectors.empty()) return ok_status();
    if (!model_.has_value()) {
      return failed_precondition_error(where + std::to_string(vectors.size()) +
                                       " vectors given, but the index has no embedding model "
                                       "(BM25-only); record one with set_embedding_model first");
    }
    if (vectors.size() != chunks.size()) {
      return invalid_argument_error(where + std::to_string(vectors.size()) + " vectors for " +
                                    std::to_string(chunks.size()) +
                                    " chunks, expected one per chunk or none");
    }
    for (size_t i = 0; i < vectors.size(); ++i) {
      if (static_cast<int64_t>(vectors[i].size()) != model_->dim) {
        return invalid_argument_error(where + "vector " + std::to_string(i) + " has dimension " +
                                      std::to_string(vectors[i].size()) + ", expected " +
                                      std::to_string(model_->dim) + " (model '" + model_->name +
                                      "')");
      }
      for (float value : vectors[i]) {
        if (!std::isfinite(value)) {
          return invalid_argument_error(where + "vector " + std::to_string(i) +
                                        " holds a non-finite value");
        }
      }
    }
    return ok_status();
  }

  // Ids of the chunks of document `doc_id` that have a vector.
  Result<std::vector<int64_t>> vector_ids_of(int64_t doc_id) {
    QUIRE_ASSIGN_OR_RETURN(
        Statement query,
        db_->prepare("SELECT id FROM chunks WHERE doc_id = ?1 AND embedding IS NOT NULL"));
    QUIRE_RETURN_IF_ERROR(query.bind_all(doc_id));
    std::vector<int64_t> ids;
    while (true) {
      QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
      if (!row) break;
      ids.push_back(query.column_int64(0));
    }
    return ids;
  }

  // Inside a transaction: deletes the rows of the document at record.path (its chunks cascade;
  // the ids of their vectors are appended to `removed_ids`) and inserts `record`, keeping the
  // old id. Returns the document id.
  Result<int64_t> replace_document_row(const DocumentRecord& record,
                                       std::vector<int64_t>& removed_ids) {
    QUIRE_ASSIGN_OR_RETURN(Statement find,
                           db_->prepare("SELECT id FROM documents WHERE path = ?1"));
    QUIRE_RETURN_IF_ERROR(find.bind_all(record.path));
    QUIRE_ASSIGN_OR_RETURN(bool exists, find.step());
    std::optional<int64_t> old_id;
    if (exists) old_id = find.column_int64(0);
    find.reset();
    if (old_id.has_value()) {
      QUIRE_ASSIGN_OR_RETURN(removed_ids, vector_ids_of(*old_id));
      QUIRE_ASSIGN_OR_RETURN(Statement erase, db_->prepare("DELETE FROM documents WHERE id = ?1"));
      QUIRE_RETURN_IF_ERROR(erase.bind_all(*old_id));
      QUIRE_RETURN_IF_ERROR(erase.run());
    }
    QUIRE_ASSIGN_OR_RETURN(
        Statement insert,
        db_->prepare("INSERT INTO documents(id, path, sha256, mtime, size, title, pages, status, "
                     "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
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
    QUIRE_RETURN_IF_ERROR(insert.run());
    return db_->last_insert_rowid();
  }

  // --- vectors ---

  // After a commit: brings the in-memory FAISS index in line with it. On failure the index is
  // marked broken and rebuilt from SQLite before its next use, so nothing committed is lost.
  Status apply_vector_changes(const std::vector<int64_t>& removed_ids,
                              const std::vector<int64_t>& added_ids,
                              const std::vector<float>& added_vectors) {
    if (vectors_broken_) return ok_status();  // rebuilt from SQLite before the next use
    Status status = [&]() -> Status {
      if (vectors_ != nullptr && !removed_ids.empty()) {
        if (vectors_->supports_remove()) {
          QUIRE_ASSIGN_OR_RETURN(int64_t removed, vectors_->remove(removed_ids));
          if (removed != static_cast<int64_t>(removed_ids.size())) {
            return internal_error("removed " + std::to_string(removed) + " of " +
                                  std::to_string(removed_ids.size()) + " vectors");
          }
        } else {
          // HNSW cannot delete: hide them from searches and rebuild at flush.
          stale_ids_.insert(removed_ids.begin(), removed_ids.end());
        }
      }
      if (added_ids.empty()) return ok_status();
      if (vectors_ == nullptr) {
        QUIRE_ASSIGN_OR_RETURN(vectors_, VectorIndex::create(kind_, model_->dim));
      }
      return vectors_->add(added_ids, added_vectors);
    }();
    if (!status.ok()) {
      vectors_broken_ = true;
      QUIRE_LOG_WARN("index '%s': vector index update failed, will rebuild from the database: %s",
                     dir_.c_str(), status.to_string().c_str());
    }
    return status;
  }

  Status repair_if_broken() {
    if (!vectors_broken_) return ok_status();
    QUIRE_ASSIGN_OR_RETURN(int64_t count, rebuild_vectors());
    QUIRE_LOG_INFO("index '%s': rebuilt the vector index from %s chunk vectors", dir_.c_str(),
                   format_grouped(count).c_str());
    return ok_status();
  }

  // Replaces the in-memory index with one built from the embedding BLOBs in SQLite (no index at
  // all when there are none). Returns the number of vectors.
  Result<int64_t> rebuild_vectors() {
    std::unique_ptr<VectorIndex> rebuilt;
    QUIRE_ASSIGN_OR_RETURN(
        Statement query,
        db_->prepare("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id"));
    std::vector<int64_t> ids;
    std::vector<float> batch;
    int64_t count = 0;
    auto add_batch = [&]() -> Status {
      if (ids.empty()) return ok_status();
      if (rebuilt == nullptr) {
        QUIRE_ASSIGN_OR_RETURN(rebuilt, VectorIndex::create(kind_, model_->dim));
      }
      QUIRE_RETURN_IF_ERROR(rebuilt->add(ids, batch));
      count += static_cast<int64_t>(ids.size());
      ids.clear();
      batch.clear();
      return ok_status();
    };
    while (true) {
      QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
      if (!row) break;
      const int64_t id = query.column_int64(0);
      if (!model_.has_value()) {
        return data_loss_error("index '" + dir_ + "': chunk " + std::to_string(id) +
                               " has an embedding but no embedding model is recorded");
      }
      std::span<const std::byte> blob = query.column_blob(1);
      const size_t expected = static_cast<size_t>(model_->dim) * sizeof(float);
      if (blob.size() != expected) {
        return data_loss_error("index '" + dir_ + "': chunk " + std::to_string(id) +
                               " embedding has " + std::to_string(blob.size()) +
                               " bytes, expected " + std::to_string(expected) + " (dim " +
                               std::to_string(model_->dim) + ")");
      }
      ids.push_back(id);
      const size_t offset = batch.size();
      batch.resize(offset + static_cast<size_t>(model_->dim));
      std::memcpy(batch.data() + offset, blob.data(), blob.size());
      if (ids.size() == kRebuildBatch) QUIRE_RETURN_IF_ERROR(add_batch());
    }
    QUIRE_RETURN_IF_ERROR(add_batch());
    vectors_ = std::move(rebuilt);
    stale_ids_.clear();
    vectors_broken_ = false;
    saved_generation_ = -1;
    return count;
  }

  // The sorted ids of the chunks that have a vector in SQLite.
  Result<std::vector<int64_t>> expected_vector_ids() {
    QUIRE_ASSIGN_OR_RETURN(
        Statement query,
        db_->prepare("SELECT id FROM chunks WHERE embedding IS NOT NULL ORDER BY id"));
    std::vector<int64_t> ids;
    while (true) {
      QUIRE_ASSIGN_OR_RETURN(bool row, query.step());
      if (!row) break;
      ids.push_back(query.column_int64(0));
    }
    return ids;
  }

  std::string vectors_file_name(int64_t generation) const {
    return "vectors." + std::to_string(generation) + ".faiss";
  }

  // Names of vectors.<n>.faiss files in the directory for n != `keep` (all when keep < 0).
  std::vector<std::string> other_vectors_files(int64_t keep) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      std::optional<int64_t> generation = vectors_file_generation(name);
      if (generation.has_value() && *generation != keep) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // open(): uses vectors.<generation>.faiss when it holds exactly the vectors in SQLite, and
  // otherwise rebuilds it from SQLite and writes it; appends what it repaired to `repairs`.
  Status load_or_rebuild_vectors(std::vector<std::string>& repairs) {
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> expected, expected_vector_ids());
    const std::string name = vectors_file_name(generation_);
    const std::string path = dir_ + "/" + name;
    const std::vector<std::string> stale = other_vectors_files(generation_);

    std::string problem;  // why the file cannot be used; empty when it can
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (!expected.empty()) {
        problem = "file missing";
        if (!stale.empty()) problem += "; found only stale " + stale.back();
      }
    } else {
      auto loaded = VectorIndex::load(path);
      if (!loaded.ok()) {
        problem = "file unreadable: " + loaded.status().message();
      } else if ((*loaded)->kind() != kind_) {
        problem = std::string("file holds a ") + vector_index_kind_name((*loaded)->kind()) +
                  " index, expected " + vector_index_kind_name(kind_);
      } else if (!model_.has_value() || (*loaded)->dim() != model_->dim) {
        problem = "file has dimension " + std::to_string((*loaded)->dim()) + ", expected " +
                  (model_.has_value() ? std::to_string(model_->dim) : "no vectors");
      } else {
        std::vector<int64_t> held = (*loaded)->ids();
        std::sort(held.begin(), held.end());
        if (held.size() != expected.size()) {
          problem = "file holds " + format_grouped(static_cast<int64_t>(held.size())) +
                    " vectors, the database " +
                    format_grouped(static_cast<int64_t>(expected.size()));
        } else if (held != expected) {
          problem = "file holds vectors of other chunks than the database";
        } else {
          vectors_ = std::move(loaded).value();
          saved_generation_ = generation_;
        }
      }
    }

    if (!problem.empty()) {
      QUIRE_ASSIGN_OR_RETURN(int64_t count, rebuild_vectors());
      repairs.push_back("rebuilt " + name + " from " + format_grouped(count) + " chunk vector" +
                        (count == 1 ? "" : "s") + " (" + problem + ")");
      return flush_locked();  // writes the file and removes the stale ones
    }
    if (vectors_ == nullptr) saved_generation_ = generation_;  // nothing to write
    for (const std::string& old : stale) {
      fs::remove(dir_ + "/" + old, ec);
      if (ec) return errno_error(ec.value(), "removing stale '" + dir_ + "/" + old + "'");
      repairs.push_back("removed stale " + old);
    }
    return ok_status();
  }

  // Writes vectors.<generation>.faiss (temp file, fsync, rename, fsync directory) when the
  // generation changed since the last write, then removes the files of older generations.
  Status flush_locked() {
    if (!stale_ids_.empty() || vectors_broken_) {
      QUIRE_ASSIGN_OR_RETURN(int64_t count, rebuild_vectors());
      QUIRE_LOG_DEBUG("index '%s': rebuilt the vector index (%lld vectors) before writing it",
                      dir_.c_str(), static_cast<long long>(count));
    }
    if (saved_generation_ == generation_) return ok_status();
    if (vectors_ != nullptr) {
      const std::string path = dir_ + "/" + vectors_file_name(generation_);
      const std::string temp = path + ".tmp." + std::to_string(::getpid());
      Status status = vectors_->save(temp);
      if (!status.ok()) {
        std::error_code ec;
        fs::remove(temp, ec);
        return status;
      }
      crash_point("vectors-saved");  // tests: killed between the temporary file and the rename
      if (::rename(temp.c_str(), path.c_str()) != 0) {
        Status rename_status = errno_error(errno, "renaming '" + temp + "' to '" + path + "'");
        std::error_code ec;
        fs::remove(temp, ec);
        return rename_status;
      }
      QUIRE_RETURN_IF_ERROR(fsync_directory(dir_));
    }
    // Older files only after the new one is durable: a crash in between leaves one that open()
    // either uses or replaces.
    const int64_t keep = vectors_ != nullptr ? generation_ : -1;
    for (const std::string& old : other_vectors_files(keep)) {
      std::error_code ec;
      fs::remove(dir_ + "/" + old, ec);
      if (ec) return errno_error(ec.value(), "removing '" + dir_ + "/" + old + "'");
    }
    saved_generation_ = generation_;
    return ok_status();
  }

  mutable std::mutex mu_;
  const std::string dir_;
  std::unique_ptr<SqliteDb> db_;
  RepairReport repair_;
  int64_t schema_version_ = 0;
  int64_t generation_ = 0;  // meta 'generation'; only this Store writes it
  VectorIndexKind kind_ = VectorIndexKind::kFlat;
  std::optional<EmbeddingModelInfo> model_;
  std::unique_ptr<VectorIndex> vectors_;   // null until the first vector arrives
  int64_t saved_generation_ = -1;          // generation of the file that matches vectors_
  std::unordered_set<int64_t> stale_ids_;  // HNSW: deleted in SQLite, still in the graph
  bool vectors_broken_ = false;            // an update failed: rebuild before use
  bool initialized_ = false;               // open() completed
};

// Removes vectors.*.tmp.* files left by a flush that was interrupted; returns their names.
Result<std::vector<std::string>> remove_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_temp_vectors_file(name)) continue;
    std::error_code remove_ec;
    fs::remove(entry.path(), remove_ec);
    if (remove_ec) {
      return errno_error(remove_ec.value(), "removing temporary file '" + dir + "/" + name + "'");
    }
    removed.push_back(name);
  }
  if (ec) return errno_error(ec.value(), "listing '" + dir + "'");
  std::sort(removed.begin(), removed.end());
  return removed;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, const StoreOptions& options) {
  if (dir.empty()) return invalid_argument_error("index directory: empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "creating index directory '" + dir + "'");
  if (!fs::is_directory(dir, ec)) {
    return failed_precondition_error("index directory '" + dir + "' is not a directory");
  }
  QUIRE_ASSIGN_OR_RETURN(std::vector<std::string> temp_files, remove_temp_files(dir));

  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::open(dir + "/" + kDatabaseFile));
  QUIRE_RETURN_IF_ERROR(migrate(*db).status().with_context("index '" + dir + "'"));

  auto store = std::make_unique<StoreImpl>(dir, std::move(db));
  QUIRE_RETURN_IF_ERROR(
      store->initialize(options, static_cast<int64_t>(temp_files.size()), temp_files));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace quire::index
