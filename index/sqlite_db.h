// A thin RAII layer over SQLite: a connection, prepared statements (cached per connection), and
// transactions, with every failure turned into a Status that names the SQL and SQLite's message.
//
// Error mapping (sqlite result code -> StatusCode): BUSY/LOCKED -> kUnavailable,
// CORRUPT/NOTADB -> kDataLoss, FULL/NOMEM -> kResourceExhausted, CANTOPEN/PERM/READONLY/AUTH ->
// kFailedPrecondition, CONSTRAINT/MISMATCH/RANGE -> kInvalidArgument, anything else -> kInternal.
//
// Thread-safety: none. A SqliteDb and its statements belong to one thread at a time: connections
// are opened with SQLITE_OPEN_NOMUTEX, so two threads must never use one connection (or its
// statements) at once. Parallel readers each take their own connection (see reader_pool.h);
// separate connections to one database may be used from separate threads concurrently, with
// WAL giving each read transaction a consistent snapshot.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace quire::index {

// Binary column value: `size` bytes at `data` (copied by SQLite when bound).
struct Blob {
  const void* data = nullptr;
  size_t size = 0;
};

// A prepared statement. Owned statements are finalized when destroyed; statements borrowed from
// the connection's cache (SqliteDb::prepare) are reset and their bindings cleared instead, so a
// finished or abandoned query never holds a read transaction open. Move-only.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, bool owned) : stmt_(stmt), owned_(owned) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Status bind(int index, int64_t value);
  Status bind(int index, std::string_view value);
  Status bind(int index, Blob value);
  Status bind_null(int index);

  // Binds the arguments to parameters 1, 2, ...
  template <typename... Args>
  Status bind_all(const Args&... args) {
    int index = 0;
    Status status;
    ((status.ok() ? (status = bind(++index, args), 0) : 0), ...);
    return status;
  }

  // Advances: true when a row is available, false when the statement is done.
  Result<bool> step();
  // Runs a statement that returns no rows (or ignores them) to completion.
  Status run();
  // Resets to the start and clears the bindings.
  void reset();

  // Column accessors for the current row; columns are 0-based.
  int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  bool column_is_null(int column) const;
  // Valid until the next step() or reset().
  std::span<const std::byte> column_blob(int column) const;

  std::string sql() const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool owned_ = false;
};

class SqliteDb {
 public:
  // Opens (creating if missing) the database at `path`. Applies the connection settings the
  // index relies on:
  //   journal_mode=WAL     readers do not block the writer; a commit is one append to the WAL
  //   synchronous=NORMAL   the WAL is fsynced at checkpoints, not at every commit. A committed
  //                        transaction is in the WAL file (in the OS page cache) when COMMIT
  //                        returns, so a process crash (kill -9) loses nothing; only a power loss
  //                        or kernel crash can roll back the last commits, and even then the
  //                        database stays consistent (never corrupt).
  //   foreign_keys=ON      chunks cascade with their document
  //   busy_timeout=5000    waits (ms) for another connection's lock instead of failing at once
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path);
  // A read-only connection to a database that open() has already set up (WAL mode): the same
  // busy_timeout, and query_only=ON so that a write through it fails (kFailedPrecondition)
  // instead of taking the write lock. kFailedPrecondition when the database is not in WAL mode.
  static Result<std::unique_ptr<SqliteDb>> open_reader(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);

  // A statement from the connection's cache (prepared once per distinct SQL text). The returned
  // Statement borrows it; only one borrower per SQL text may be alive at a time.
  Result<Statement> prepare(const std::string& sql);
  // A statement prepared for one use (dynamic SQL), finalized when destroyed.
  Result<Statement> prepare_uncached(const std::string& sql);

  int64_t last_insert_rowid() const;
  int64_t changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

  // Status for a failed SQLite call: "<what>: <sqlite message> (<code name>)", mapped as above.
  Status error(int rc, std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// BEGIN IMMEDIATE (takes the write lock up front, so a transaction never fails half-way on a
// lock upgrade) ... COMMIT; rolled back when destroyed without commit().
class Transaction {
 public:
  static Result<Transaction> begin(SqliteDb& db);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;

  Status commit();

 private:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_ = nullptr;  // null once committed or rolled back
};

// Maps a SQLite result code to a canonical status code (see the table above).
StatusCode status_code_for_sqlite(int rc);

}  // namespace quire::index
