// Read connections to the index database, one per concurrently reading thread.
//
// One SQLite connection serves one thread at a time (sqlite_db.h), so readers that should run in
// parallel need a connection each. acquire() lends an idle connection or opens a new one
// (SqliteDb::open_reader); the lease returns it when destroyed. Connections stay open for reuse,
// so the pool grows to the largest number of simultaneous readers and stays there.
//
// Each statement on a lent connection is its own read transaction (WAL snapshot) of the last
// committed state; the caller (Store) keeps several statements consistent by excluding writers
// while it reads.
//
// Thread-safety: acquire() may be called from any number of threads concurrently; a Lease and its
// connection belong to the thread that acquired it. The pool must outlive its leases.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/sqlite_db.h"

namespace quire::index {

class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<SqliteDb> db) : pool_(pool), db_(std::move(db)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    SqliteDb& db() { return *db_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<SqliteDb> db_;  // null once moved from
  };

  // `db_path`: a database already opened (and set to WAL) by the writer connection.
  explicit ReaderPool(std::string db_path) : db_path_(std::move(db_path)) {}
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // An idle connection, or a new one; errors are those of SqliteDb::open_reader.
  Result<Lease> acquire();
  // Connections open now (idle or lent); for tests and status.
  size_t size() const;

 private:
  void give_back(std::unique_ptr<SqliteDb> db);

  const std::string db_path_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_;
  size_t open_ = 0;
};

}  // namespace quire::index
