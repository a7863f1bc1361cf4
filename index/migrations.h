// Numbered schema migrations of the index database.
//
// Migration N takes the schema from version N-1 to N. Each one runs in its own transaction
// together with the update of meta 'schema_version', so a crash leaves the database at one
// version or the next, never in between. Version 0 is an empty database (no meta table).
//
// Thread-safety: migrations() and latest_schema_version() are constant tables, safe from any
// thread. read_schema_version() and migrate() use the connection given, so they follow its rule
// (one thread at a time per SqliteDb); Store runs them in open(), before any other call.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/status.h"
#include "index/sqlite_db.h"

namespace quire::index {

struct Migration {
  int64_t version;          // the schema version after this step
  const char* description;  // one line, for logs
  const char* sql;          // one or more statements
};

// All migrations, in order: migrations()[i].version == i + 1.
std::span<const Migration> migrations();

// The newest version this build knows.
int64_t latest_schema_version();

// meta 'schema_version' of `db`; 0 when the database has no meta table yet.
Result<int64_t> read_schema_version(SqliteDb& db);

// Applies the pending migrations up to `target_version` (latest by default) and returns the
// resulting version. A database newer than this build is refused with kFailedPrecondition.
Result<int64_t> migrate(SqliteDb& db, int64_t target_version = -1);

}  // namespace quire::index
