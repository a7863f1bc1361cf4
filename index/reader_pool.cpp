#include "index/reader_pool.h"

#include <utility>

namespace quire::index {

ReaderPool::Lease::~Lease() {
  if (db_ != nullptr) pool_->give_back(std::move(db_));
}

Result<ReaderPool::Lease> ReaderPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteDb> db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  // Opening happens outside the lock: it reads the database header and may wait on a lock.
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::open_reader(db_path_));
  std::lock_guard lock(mu_);
  ++open_;
  return Lease(this, std::move(db));
}

size_t ReaderPool::size() const {
  std::lock_guard lock(mu_);
  return open_;
}

void ReaderPool::give_back(std::unique_ptr<SqliteDb> db) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(db));
}

}  // namespace quire::index
