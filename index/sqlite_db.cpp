#include "index/sqlite_db.h"

#include <utility>

namespace quire::index {

StatusCode status_code_for_sqlite(int rc) {
  switch (rc & 0xff) {  // primary code; extended codes keep it in the low byte
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return StatusCode::kResourceExhausted;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return StatusCode::kFailedPrecondition;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

namespace {

Status sqlite_status(sqlite3* db, int rc, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (";
  message += sqlite3_errstr(rc);
  message += ")";
  return Status(status_code_for_sqlite(rc), std::move(message));
}

Status statement_error(sqlite3_stmt* stmt, int rc, std::string_view what) {
  std::string context(what);
  context += " '";
  context += sqlite3_sql(stmt);
  context += "'";
  return sqlite_status(sqlite3_db_handle(stmt), rc, context);
}

}  // namespace

// --- Statement ---

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), owned_(other.owned_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Statement old(std::move(*this));
    stmt_ = std::exchange(other.stmt_, nullptr);
    owned_ = other.owned_;
  }
  return *this;
}

Status Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  return rc == SQLITE_OK ? ok_status() : statement_error(stmt_, rc, "binding an integer in");
}

Status Statement::bind(int index, std::string_view value) {
  // A non-null pointer even for an empty string, so that "" binds as text and not as NULL.
  static const char kEmpty[] = "";
  const char* data = value.empty() ? kEmpty : value.data();
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return rc == SQLITE_OK ? ok_status() : statement_error(stmt_, rc, "binding text in");
}

Status Statement::bind(int index, Blob value) {
  static const char kEmpty[1] = {0};
  const void* data = value.size == 0 ? kEmpty : value.data;
  int rc = sqlite3_bind_blob64(stmt_, index, data, value.size, SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? ok_status() : statement_error(stmt_, rc, "binding a blob in");
}

Status Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  return rc == SQLITE_OK ? ok_status() : statement_error(stmt_, rc, "binding NULL in");
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = statement_error(stmt_, rc, "running");
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::run() {
  while (true) {
    QUIRE_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return ok_status();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  int bytes = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(bytes));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::span<const std::byte> Statement::column_blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int bytes = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || bytes <= 0) return {};
  return {static_cast<const std::byte*>(data), static_cast<size_t>(bytes)};
}

std::string Statement::sql() const {
  return stmt_ != nullptr ? sqlite3_sql(stmt_) : "";
}

// --- SqliteDb ---

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path) {
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = sqlite_status(handle, rc, "opening database '" + path + "'");
    sqlite3_close(handle);
    return status;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(handle, path));
  sqlite3_extended_result_codes(handle, 1);
  // busy_timeout first: switching to WAL needs a lock another connection may hold.
  QUIRE_RETURN_IF_ERROR(db->exec("PRAGMA busy_timeout=5000"));
  QUIRE_ASSIGN_OR_RETURN(Statement journal, db->prepare_uncached("PRAGMA journal_mode=WAL"));
  QUIRE_ASSIGN_OR_RETURN(bool row, journal.step());
  if (!row || journal.column_text(0) != "wal") {
    return failed_precondition_error("database '" + path +
                                     "': cannot switch to WAL journal mode (got '" +
                                     (row ? journal.column_text(0) : std::string()) + "')");
  }
  QUIRE_RETURN_IF_ERROR(db->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON"));
  return db;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::open_reader(const std::string& path) {
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = sqlite_status(handle, rc, "opening database '" + path + "' for reading");
    sqlite3_close(handle);
    return status;
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(handle, path));
  sqlite3_extended_result_codes(handle, 1);
  QUIRE_RETURN_IF_ERROR(db->exec("PRAGMA busy_timeout=5000; PRAGMA query_only=ON"));
  QUIRE_ASSIGN_OR_RETURN(Statement journal, db->prepare_uncached("PRAGMA journal_mode"));
  QUIRE_ASSIGN_OR_RETURN(bool row, journal.step());
  if (!row || journal.column_text(0) != "wal") {
    return failed_precondition_error("database '" + path +
                                     "': a reader needs WAL journal mode (got '" +
                                     (row ? journal.column_text(0) : std::string()) + "')");
  }
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  // Closing the last connection checkpoints the WAL into the database file.
  sqlite3_close(db_);
}

Status SqliteDb::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok_status();
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Status(status_code_for_sqlite(rc), "database '" + path_ + "': '" + text + "': " + detail +
                                                " (" + sqlite3_errstr(rc) + ")");
}

Result<Statement> SqliteDb::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, "preparing '" + sql + "'");
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, /*owned=*/false);
}

Result<Statement> SqliteDb::prepare_uncached(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "preparing '" + sql + "'");
  return Statement(stmt, /*owned=*/true);
}

int64_t SqliteDb::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int64_t SqliteDb::changes() const {
  return sqlite3_changes64(db_);
}

Status SqliteDb::error(int rc, std::string_view what) const {
  return sqlite_status(db_, rc, "database '" + path_ + "': " + std::string(what));
}

// --- Transaction ---

Result<Transaction> Transaction::begin(SqliteDb& db) {
  QUIRE_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) db_->exec("ROLLBACK").ignore();
}

Status Transaction::commit() {
  if (db_ == nullptr) return internal_error("commit of a finished transaction");
  Status status = db_->exec("COMMIT");
  if (status.ok()) db_ = nullptr;  // on failure the destructor rolls back
  return status;
}

}  // namespace quire::index
