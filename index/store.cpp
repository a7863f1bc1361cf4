#include "index/store.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "engine/core/format.h"
#include "engine/core/log.h"
#include "index/bm25_query.h"
#include "index/metadata_store.h"
#include "index/migrations.h"
#include "index/reader_pool.h"
#include "index/sqlite_db.h"
#include "index/vector_files.h"
#include "index/vector_sync.h"

namespace quire::index {
namespace {

namespace fs = std::filesystem;

constexpr char kDatabaseFile[] = "quire.db";
constexpr size_t kFingerprintShown = 16;  // hex digits of a fingerprint in messages

std::string short_fingerprint(const std::string& fingerprint) {
  return fingerprint.size() > kFingerprintShown ? fingerprint.substr(0, kFingerprintShown) + "..."
                                                : fingerprint;
}

std::string describe_model(const EmbeddingModelInfo& model) {
  return "'" + model.name + "' (dim " + std::to_string(model.dim) + ", fingerprint " +
         short_fingerprint(model.fingerprint) + ")";
}

// Locking (see store.h): `mu_` shared for reads, exclusive for writes; `flush_mu_` makes flushes
// one at a time (taken before `mu_`, never after). Members written only under the exclusive lock
// (generation_, model_, the VectorSync apart from its saved generation) may be read under the
// shared one; VectorSync::save runs under the shared lock plus flush_mu_.
//
// std::shared_mutex alone would let a steady stream of searches starve the writer forever
// (libstdc++'s is a pthread rwlock, which prefers readers). So a writer holds `write_gate_` while
// it waits for and then holds `mu_`, and every reader passes through the gate before it takes
// `mu_` shared: a waiting writer stops new readers, and gets the lock once the running ones end.
class StoreImpl final : public Store {
 public:
  StoreImpl(std::string dir, std::unique_ptr<SqliteDb> db)
      : dir_(std::move(dir)), db_(std::move(db)), readers_(db_->path()) {}

  ~StoreImpl() override {
    if (!initialized_) return;  // open() failed: leave the files as they are
    Status status = flush();
    if (!status.ok()) {
      QUIRE_LOG_WARN("index '%s': flush on close failed (the next open rebuilds it): %s",
                     dir_.c_str(), status.to_string().c_str());
    }
  }

  // Everything open() does after the database is open and migrated.
  Status initialize(const StoreOptions& options, int64_t temp_files_removed,
                    const std::vector<std::string>& temp_names) {
    ExclusiveLock lock(*this);
    MetadataStore meta(*db_);
    QUIRE_ASSIGN_OR_RETURN(schema_version_, read_schema_version(*db_));
    QUIRE_RETURN_IF_ERROR(load_meta(meta, options).with_context("index '" + dir_ + "'"));

    std::vector<std::string> repairs;
    if (temp_files_removed > 0) {
      std::string names;
      for (const std::string& name : temp_names) names += (names.empty() ? "" : ", ") + name;
      repairs.push_back("removed " + format_grouped(temp_files_removed) + " temporary file" +
                        (temp_files_removed == 1 ? "" : "s") + " (" + names + ")");
    }
    vectors_.emplace(dir_, kind_);
    vectors_->set_dim(model_.has_value() ? model_->dim : 0);
    QUIRE_RETURN_IF_ERROR(vectors_->load_or_rebuild(meta, generation_, repairs));

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
    auto lock = lock_shared();
    return schema_version_;
  }

  int64_t generation() const override {
    auto lock = lock_shared();
    return generation_;
  }

  Result<std::optional<EmbeddingModelInfo>> embedding_model() override {
    auto lock = lock_shared();
    return model_;
  }

  // --- writes (exclusive) ---

  Status set_embedding_model(const EmbeddingModelInfo& model, bool reembed) override {
    if (model.name.empty() || model.fingerprint.empty() || model.dim <= 0 || model.dim > 65536) {
      return invalid_argument_error("embedding model " + describe_model(model) +
                                    ": expected a name, a fingerprint and a dim in 1..65536");
    }
    ExclusiveLock lock(*this);
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
    MetadataStore meta(*db_);
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    int64_t dropped = 0;
    if (dropping) {
      QUIRE_ASSIGN_OR_RETURN(dropped, meta.drop_all_embeddings());
    }
    QUIRE_RETURN_IF_ERROR(meta.set_embedding_model(model));
    const int64_t generation = dropping ? generation_ + 1 : generation_;
    if (dropping) QUIRE_RETURN_IF_ERROR(meta.set_generation(generation));
    QUIRE_RETURN_IF_ERROR(transaction.commit());

    if (dropping) {
      QUIRE_LOG_INFO("index '%s': embedding model %s replaced by %s: dropped %lld vectors",
                     dir_.c_str(), describe_model(*model_).c_str(), describe_model(model).c_str(),
                     static_cast<long long>(dropped));
      generation_ = generation;
      vectors_->clear();
    }
    vectors_->set_dim(model.dim);
    model_ = model;
    return ok_status();
  }

  Result<int64_t> put_document(const DocumentRecord& doc, const std::vector<ChunkRecord>& chunks,
                               const std::vector<std::vector<float>>& vectors) override {
    ExclusiveLock lock(*this);
    QUIRE_RETURN_IF_ERROR(check_vectors(doc, chunks, vectors));
    DocumentRecord record = doc;
    record.status = "indexed";
    record.error.clear();

    MetadataStore meta(*db_);
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    std::vector<int64_t> removed_ids;
    QUIRE_ASSIGN_OR_RETURN(int64_t doc_id, meta.replace_document(record, removed_ids));
    std::vector<int64_t> added_ids;
    std::vector<float> added_vectors;
    added_vectors.reserve(vectors.size() * (vectors.empty() ? 0 : vectors[0].size()));
    for (size_t i = 0; i < chunks.size(); ++i) {
      const std::span<const float> vector =
          vectors.empty() ? std::span<const float>() : std::span<const float>(vectors[i]);
      QUIRE_ASSIGN_OR_RETURN(int64_t chunk_id, meta.insert_chunk(doc_id, chunks[i], vector));
      if (!vectors.empty()) {
        added_ids.push_back(chunk_id);
        added_vectors.insert(added_vectors.end(), vector.begin(), vector.end());
      }
    }
    QUIRE_RETURN_IF_ERROR(meta.set_generation(generation_ + 1));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;

    QUIRE_RETURN_IF_ERROR(
        vectors_->apply(removed_ids, added_ids, added_vectors)
            .with_context("document '" + doc.path + "' was committed, but updating its vectors"));
    return doc_id;
  }

  Status put_failure(const DocumentRecord& doc) override {
    if (doc.path.empty()) return invalid_argument_error("put_failure: empty document path");
    ExclusiveLock lock(*this);
    DocumentRecord record = doc;
    record.status = "failed";
    MetadataStore meta(*db_);
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    std::vector<int64_t> removed_ids;
    QUIRE_RETURN_IF_ERROR(meta.replace_document(record, removed_ids).status());
    QUIRE_RETURN_IF_ERROR(meta.set_generation(generation_ + 1));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;
    return vectors_->apply(removed_ids, {}, {})
        .with_context("failure of '" + doc.path + "' was committed, but removing its old vectors");
  }

  Status remove_document(int64_t id) override {
    ExclusiveLock lock(*this);
    MetadataStore meta(*db_);
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(*db_));
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> removed_ids, meta.vector_ids_of(id));
    QUIRE_ASSIGN_OR_RETURN(bool deleted, meta.delete_document(id));
    if (!deleted) {
      return not_found_error("index '" + dir_ + "': no document with id " + std::to_string(id));
    }
    QUIRE_RETURN_IF_ERROR(meta.set_generation(generation_ + 1));
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    ++generation_;
    return vectors_->apply(removed_ids, {}, {})
        .with_context("removal of document " + std::to_string(id) +
                      " was committed, but removing its vectors");
  }

  Status flush() override {
    std::lock_guard flush_lock(flush_mu_);
    {
      auto lock = lock_shared();
      if (!vectors_->needs_rebuild()) return vectors_->save(generation_);
    }
    ExclusiveLock lock(*this);
    if (vectors_->needs_rebuild()) {
      MetadataStore meta(*db_);
      QUIRE_ASSIGN_OR_RETURN(int64_t count, vectors_->rebuild(meta));
      QUIRE_LOG_DEBUG("index '%s': rebuilt the vector index (%lld vectors) before writing it",
                      dir_.c_str(), static_cast<long long>(count));
    }
    return vectors_->save(generation_);
  }

  // --- reads (shared) ---

  Result<std::optional<DocumentRecord>> find_document(const std::string& path) override {
    return read([&](MetadataStore& meta) { return meta.find_document(path); });
  }

  Result<std::optional<DocumentRecord>> get_document(int64_t id) override {
    return read([&](MetadataStore& meta) { return meta.get_document(id); });
  }

  Result<std::vector<DocumentRecord>> list_documents() override {
    return read([&](MetadataStore& meta) { return meta.list_documents(); });
  }

  Result<std::vector<int64_t>> documents_without_vectors() override {
    return read([&](MetadataStore& meta) { return meta.documents_without_vectors(); });
  }

  Result<std::vector<ChunkRecord>> chunks_of(int64_t doc_id) override {
    return read([&](MetadataStore& meta) { return meta.chunks_of(doc_id); });
  }

  Result<std::vector<ChunkRecord>> get_chunks(const std::vector<int64_t>& ids) override {
    return read([&](MetadataStore& meta) { return meta.get_chunks(ids); });
  }

  Result<int64_t> chunk_count() override {
    return read([&](MetadataStore& meta) { return meta.chunk_count(); });
  }

  Result<int64_t> vector_count() override {
    QUIRE_ASSIGN_OR_RETURN(std::shared_lock<std::shared_mutex> lock, lock_vectors_shared());
    return vectors_->live_count();
  }

  Result<std::vector<ChunkVector>> get_vectors(const std::vector<int64_t>& ids) override {
    QUIRE_ASSIGN_OR_RETURN(std::shared_lock<std::shared_mutex> lock, lock_vectors_shared());
    if (!model_.has_value()) {
      return failed_precondition_error("index '" + dir_ +
                                       "' has no embedding model (BM25-only): it holds no vectors");
    }
    return vectors_->get(ids);
  }

  Result<std::vector<SearchHit>> search_bm25(const std::string& query, int64_t k,
                                             const SearchFilter& filter) override {
    if (k < 0) return invalid_argument_error("search_bm25: k = " + std::to_string(k));
    QUIRE_RETURN_IF_ERROR(check_search_filter(filter).with_context("search_bm25"));
    return search_fts(bm25_match_expression(query), query, k, filter);
  }

  Result<std::vector<SearchHit>> search_phrase(const std::string& text, int64_t k,
                                               const SearchFilter& filter, bool prefix) override {
    if (k < 0) return invalid_argument_error("search_phrase: k = " + std::to_string(k));
    QUIRE_RETURN_IF_ERROR(check_search_filter(filter).with_context("search_phrase"));
    std::string expression = fts5_match_phrase(bm25_query_terms(text));
    if (prefix && !expression.empty()) expression += " *";
    return search_fts(expression, text, k, filter);
  }

  Result<TermStats> term_stats(const std::string& text) override {
    return read([&](MetadataStore& meta) -> Result<TermStats> {
      TermStats stats;
      stats.terms = bm25_query_terms(text);
      QUIRE_ASSIGN_OR_RETURN(stats.chunks, meta.count_fts(""));
      for (const std::string& term : stats.terms) {
        QUIRE_ASSIGN_OR_RETURN(const int64_t n, meta.count_fts(fts5_match_any({term})));
        stats.chunks_with.push_back(n);
      }
      return stats;
    });
  }

  // An FTS5 MATCH expression (empty: no hits) under the filter; `query` names it in errors.
  Result<std::vector<SearchHit>> search_fts(const std::string& expression, const std::string& query,
                                            int64_t k, const SearchFilter& filter) {
    if (k == 0 || expression.empty()) return std::vector<SearchHit>();
    auto lock = lock_shared();
    QUIRE_ASSIGN_OR_RETURN(ReaderPool::Lease lease, readers_.acquire());
    MetadataStore meta(lease.db());
    auto hits = [&]() -> Result<std::vector<SearchHit>> {
      if (filter.empty()) return meta.search_fts(expression, k);
      QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> documents, allowed_documents(meta, filter));
      if (documents.empty()) return std::vector<SearchHit>();
      return meta.search_fts(expression, k, &documents);
    }();
    if (!hits.ok()) return hits.status().with_context("BM25 search for '" + query + "'");
    return hits;
  }

  Result<std::vector<SearchHit>> search_dense(const std::vector<float>& query, int64_t k,
                                              const SearchFilter& filter) override {
    if (k < 0) return invalid_argument_error("search_dense: k = " + std::to_string(k));
    QUIRE_RETURN_IF_ERROR(check_search_filter(filter).with_context("search_dense"));
    QUIRE_ASSIGN_OR_RETURN(std::shared_lock<std::shared_mutex> lock, lock_vectors_shared());
    if (!model_.has_value()) {
      return failed_precondition_error("index '" + dir_ +
                                       "' has no embedding model (BM25-only): no dense search");
    }
    if (static_cast<int64_t>(query.size()) != model_->dim) {
      return invalid_argument_error(
          "search_dense: query vector of dimension " + std::to_string(query.size()) +
          ", expected " + std::to_string(model_->dim) + " (model '" + model_->name + "')");
    }
    if (k == 0) return std::vector<SearchHit>();
    if (filter.empty()) return vectors_->search(query.data(), k);

    QUIRE_ASSIGN_OR_RETURN(ReaderPool::Lease lease, readers_.acquire());
    MetadataStore meta(lease.db());
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> documents, allowed_documents(meta, filter));
    if (documents.empty()) return std::vector<SearchHit>();
    // Chunk ids from SQLite: deleted chunks (HNSW's stale vectors) are not among them.
    QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> allowed, meta.vector_ids_of_documents(documents));
    return vectors_->search_among(query.data(), k, allowed);
  }

 private:
  // The exclusive lock, taken through the writers' gate (see the class comment).
  class ExclusiveLock {
   public:
    explicit ExclusiveLock(const StoreImpl& store) : gate_(store.write_gate_), lock_(store.mu_) {}

   private:
    std::unique_lock<std::mutex> gate_;  // released after lock_ (reverse order)
    std::unique_lock<std::shared_mutex> lock_;
  };

  // The shared lock, after waiting for any writer that is waiting or writing.
  std::shared_lock<std::shared_mutex> lock_shared() const {
    { std::lock_guard gate(write_gate_); }
    return std::shared_lock(mu_);
  }

  // Runs `body` with a pooled read connection under the shared lock.
  template <typename Body>
  auto read(Body&& body) -> decltype(body(std::declval<MetadataStore&>())) {
    auto lock = lock_shared();
    QUIRE_ASSIGN_OR_RETURN(ReaderPool::Lease lease, readers_.acquire());
    MetadataStore meta(lease.db());
    return body(meta);
  }

  // The shared lock, held with a vector index that is not broken: a broken one (after a failed
  // update) is rebuilt under the exclusive lock first.
  Result<std::shared_lock<std::shared_mutex>> lock_vectors_shared() {
    while (true) {
      auto lock = lock_shared();
      if (!vectors_->broken()) return lock;
      lock.unlock();
      ExclusiveLock exclusive(*this);
      MetadataStore meta(*db_);
      QUIRE_RETURN_IF_ERROR(vectors_->repair_if_broken(meta));
    }
  }

  // The ids of the documents that pass a non-empty `filter`, ascending.
  static Result<std::vector<int64_t>> allowed_documents(MetadataStore& meta,
                                                        const SearchFilter& filter) {
    std::vector<int64_t> allowed;
    if (!filter.document_ids.empty()) {
      std::vector<int64_t> ids = filter.document_ids;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      for (int64_t id : ids) {
        QUIRE_ASSIGN_OR_RETURN(std::optional<DocumentRecord> doc, meta.get_document(id));
        if (doc.has_value() && filter.admits_path(doc->path)) allowed.push_back(id);
      }
    } else {
      QUIRE_ASSIGN_OR_RETURN(std::vector<DocumentRecord> docs, meta.list_documents());
      for (const DocumentRecord& doc : docs) {
        if (filter.admits_path(doc.path)) allowed.push_back(doc.id);
      }
      std::sort(allowed.begin(), allowed.end());
    }
    return allowed;
  }

  Status load_meta(MetadataStore& meta, const StoreOptions& options) {
    QUIRE_ASSIGN_OR_RETURN(generation_, meta.generation());
    QUIRE_ASSIGN_OR_RETURN(std::optional<VectorIndexKind> kind, meta.index_kind());
    if (!kind.has_value()) {
      kind_ = options.index_kind;
      QUIRE_RETURN_IF_ERROR(meta.set_index_kind(kind_));
    } else {
      kind_ = *kind;
    }
    if (kind_ != options.index_kind) {
      QUIRE_LOG_INFO("index '%s': keeps its vector index kind '%s' ('%s' was asked for)",
                     dir_.c_str(), vector_index_kind_name(kind_),
                     vector_index_kind_name(options.index_kind));
    }
    QUIRE_ASSIGN_OR_RETURN(model_, meta.embedding_model());
    return ok_status();
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

  mutable std::shared_mutex mu_;
  mutable std::mutex write_gate_;  // held by a writer while it waits for and holds mu_
  std::mutex flush_mu_;
  const std::string dir_;
  std::unique_ptr<SqliteDb> db_;  // the write connection (and open()'s reads)
  ReaderPool readers_;            // connections for the shared-lock reads
  RepairReport repair_;
  int64_t schema_version_ = 0;
  int64_t generation_ = 0;  // meta 'generation'; only this Store writes it
  VectorIndexKind kind_ = VectorIndexKind::kFlat;
  std::optional<EmbeddingModelInfo> model_;
  std::optional<VectorSync> vectors_;  // set by initialize()
  bool initialized_ = false;           // open() completed
};

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, const StoreOptions& options) {
  if (dir.empty()) return invalid_argument_error("index directory: empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "creating index directory '" + dir + "'");
  if (!fs::is_directory(dir, ec)) {
    return failed_precondition_error("index directory '" + dir + "' is not a directory");
  }
  QUIRE_ASSIGN_OR_RETURN(std::vector<std::string> temp_files, remove_temp_vectors_files(dir));

  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::open(dir + "/" + kDatabaseFile));
  QUIRE_RETURN_IF_ERROR(migrate(*db).status().with_context("index '" + dir + "'"));

  auto store = std::make_unique<StoreImpl>(dir, std::move(db));
  QUIRE_RETURN_IF_ERROR(
      store->initialize(options, static_cast<int64_t>(temp_files.size()), temp_files));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace quire::index
