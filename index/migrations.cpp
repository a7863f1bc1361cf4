#include "index/migrations.h"

#include <string>

#include "engine/core/log.h"

namespace quire::index {
namespace {

// Never edit a migration that has shipped: add a new one.
constexpr Migration kMigrations[] = {
    {1, "documents, chunks (with embedding BLOBs), FTS5 over chunk text, meta",
     R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
-- AUTOINCREMENT: ids are never reused, so a FAISS id (= chunk id) or a document id held by a
-- client can never come to name a different row after a deletion.
CREATE TABLE documents(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  path TEXT NOT NULL UNIQUE,
  sha256 TEXT NOT NULL DEFAULT '',
  mtime INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  title TEXT NOT NULL DEFAULT '',
  pages INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
  error TEXT NOT NULL DEFAULT ''
);
-- embedding: the chunk vector as dim float32 values (host order, little-endian on the
-- supported targets), NULL for a BM25-only chunk. FAISS is rebuilt from these.
CREATE TABLE chunks(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  page_start INTEGER NOT NULL,
  page_end INTEGER NOT NULL,
  char_start INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  n_tokens INTEGER NOT NULL,
  text TEXT NOT NULL,
  embedding BLOB
);
-- External-content FTS5 index over chunks.text, kept in step by the triggers below.
CREATE VIRTUAL TABLE chunks_fts USING fts5(
  text,
  content = 'chunks',
  content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
INSERT INTO meta(key, value) VALUES ('generation', '0');
)sql"},
    {2, "index chunks by (doc_id, ord): cascading deletes and chunks_of() without a scan",
     R"sql(
CREATE INDEX chunks_doc_id_ord ON chunks(doc_id, ord);
)sql"},
    {3, "documents.page_starts: where each page begins in the document's text",
     R"sql(
-- Comma-separated offsets, one per page; '' for documents indexed before this version.
ALTER TABLE documents ADD COLUMN page_starts TEXT NOT NULL DEFAULT '';
)sql"},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

int64_t latest_schema_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Result<int64_t> read_schema_version(SqliteDb& db) {
  QUIRE_ASSIGN_OR_RETURN(
      Statement has_meta,
      db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
  QUIRE_ASSIGN_OR_RETURN(bool row, has_meta.step());
  if (!row || has_meta.column_int64(0) == 0) return int64_t{0};

  QUIRE_ASSIGN_OR_RETURN(Statement query,
                         db.prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
  QUIRE_ASSIGN_OR_RETURN(row, query.step());
  if (!row) return int64_t{0};
  std::string text = query.column_text(0);
  try {
    size_t used = 0;
    int64_t version = std::stoll(text, &used);
    if (used == text.size() && version >= 0) return version;
  } catch (const std::exception&) {
  }
  return data_loss_error("database '" + db.path() + "': meta 'schema_version' is '" + text +
                         "', expected a non-negative integer");
}

Result<int64_t> migrate(SqliteDb& db, int64_t target_version) {
  const int64_t latest = latest_schema_version();
  if (target_version < 0) target_version = latest;
  if (target_version > latest) {
    return invalid_argument_error("schema version " + std::to_string(target_version) +
                                  " requested, this build knows up to " + std::to_string(latest));
  }
  QUIRE_ASSIGN_OR_RETURN(int64_t version, read_schema_version(db));
  if (version > latest) {
    return failed_precondition_error(
        "database '" + db.path() + "' has schema version " + std::to_string(version) +
        ", newer than this build of quire knows (" + std::to_string(latest) +
        "); use a newer quire or index into a new directory");
  }
  const bool fresh = version == 0;
  for (const Migration& migration : kMigrations) {
    if (migration.version <= version || migration.version > target_version) continue;
    QUIRE_ASSIGN_OR_RETURN(Transaction transaction, Transaction::begin(db));
    Status status = db.exec(migration.sql);
    if (!status.ok()) {
      return std::move(status).with_context("migration " + std::to_string(migration.version));
    }
    QUIRE_ASSIGN_OR_RETURN(Statement set_version,
                           db.prepare("INSERT INTO meta(key, value) VALUES ('schema_version', ?1) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    QUIRE_RETURN_IF_ERROR(set_version.bind_all(std::to_string(migration.version)));
    QUIRE_RETURN_IF_ERROR(set_version.run());
    QUIRE_RETURN_IF_ERROR(transaction.commit());
    // Creating a new database is routine; upgrading an existing one is worth a line.
    const LogLevel level = fresh ? LogLevel::kDebug : LogLevel::kInfo;
    QUIRE_LOG_(level, "index '%s': migrated schema to version %lld (%s)", db.path().c_str(),
               static_cast<long long>(migration.version), migration.description);
    version = migration.version;
  }
  return version;
}

}  // namespace quire::index
