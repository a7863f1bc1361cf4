// The FAISS files of a store directory: names, generations, and the crash-safe write.
//
//   vectors.<gen>.faiss          the vector index of meta 'generation' <gen> (VectorIndex::save)
//   vectors.<gen>.faiss.tmp.<pid> a write in progress; renamed into place once fsynced, and
//                                removed by the next open() if the writer died first
// A file is written to its temporary name, fsynced, renamed, and the directory fsynced; only
// then are the files of older generations removed. A crash at any point leaves either the old
// file, or the new one, or both (open() uses the current one and removes the other).
//
// Thread-safety: functions of the file system only; calls on different directories may run
// concurrently, calls that write the same directory must be serialized by the caller (Store:
// one flush at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "index/vector_index.h"

namespace quire::index {

// "vectors.<generation>.faiss".
std::string vectors_file_name(int64_t generation);
// "vectors.<n>.faiss" -> n; nullopt for any other name (temporary files included).
std::optional<int64_t> vectors_file_generation(const std::string& name);
// Whether `name` is a temporary file of an interrupted write ("vectors.*.tmp.*").
bool is_temp_vectors_file(const std::string& name);

// Names of the vectors.<n>.faiss files in `dir` with n != keep (all of them when keep < 0),
// sorted; an unreadable directory gives none.
std::vector<std::string> other_vectors_files(const std::string& dir, int64_t keep);
// Removes the files other_vectors_files(dir, keep) names.
Status remove_other_vectors_files(const std::string& dir, int64_t keep);
// Removes temporary files left by interrupted writes; returns their names, sorted.
Result<std::vector<std::string>> remove_temp_vectors_files(const std::string& dir);

// Writes `vectors` as dir/vectors.<generation>.faiss: temporary file, fsync, rename, fsync of the
// directory. On failure the temporary file is removed and an existing file is left as it was.
// Calls crash_point("vectors-saved") between the fsync and the rename (for crash tests).
Status write_vectors_file(const std::string& dir, int64_t generation, const VectorIndex& vectors);

}  // namespace quire::index
