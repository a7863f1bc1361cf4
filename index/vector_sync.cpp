#include "index/vector_sync.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "engine/core/format.h"
#include "engine/core/log.h"
#include "index/vector_files.h"

namespace quire::index {
namespace {

namespace fs = std::filesystem;

constexpr size_t kRebuildBatch = 4096;  // vectors per FAISS add while rebuilding

}  // namespace

Status VectorSync::load_or_rebuild(MetadataStore& meta, int64_t generation,
                                   std::vector<std::string>& repairs) {
  QUIRE_ASSIGN_OR_RETURN(std::vector<int64_t> expected, meta.vector_ids());
  const std::string name = vectors_file_name(generation);
  const std::string path = dir_ + "/" + name;
  const std::vector<std::string> stale = other_vectors_files(dir_, generation);

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
    } else if (dim_ == 0 || (*loaded)->dim() != dim_) {
      problem = "file has dimension " + std::to_string((*loaded)->dim()) + ", expected " +
                (dim_ != 0 ? std::to_string(dim_) : "no vectors");
    } else {
      std::vector<int64_t> held = (*loaded)->ids();
      std::sort(held.begin(), held.end());
      if (held.size() != expected.size()) {
        problem = "file holds " + format_grouped(static_cast<int64_t>(held.size())) +
                  " vectors, the database " + format_grouped(static_cast<int64_t>(expected.size()));
      } else if (held != expected) {
        problem = "file holds vectors of other chunks than the database";
      } else {
        vectors_ = std::move(loaded).value();
        saved_generation_ = generation;
      }
    }
  }

  if (!problem.empty()) {
    QUIRE_ASSIGN_OR_RETURN(int64_t count, rebuild(meta));
    repairs.push_back("rebuilt " + name + " from " + format_grouped(count) + " chunk vector" +
                      (count == 1 ? "" : "s") + " (" + problem + ")");
    return save(generation);  // writes the file and removes the stale ones
  }
  if (vectors_ == nullptr) saved_generation_ = generation;  // nothing to write
  for (const std::string& old : stale) {
    fs::remove(dir_ + "/" + old, ec);
    if (ec) return errno_error(ec.value(), "removing stale '" + dir_ + "/" + old + "'");
    repairs.push_back("removed stale " + old);
  }
  return ok_status();
}

Status VectorSync::apply(const std::vector<int64_t>& removed_ids,
                         const std::vector<int64_t>& added_ids,
                         const std::vector<float>& added_vectors) {
  if (broken_) return ok_status();  // rebuilt from SQLite before the next use
  Status status = [&]() -> Status {
    if (vectors_ != nullptr && !removed_ids.empty()) {
      if (vectors_->supports_remove()) {
        QUIRE_ASSIGN_OR_RETURN(int64_t removed, vectors_->remove(removed_ids));
        if (removed != static_cast<int64_t>(removed_ids.size())) {
          return internal_error("removed " + std::to_string(removed) + " of " +
                                std::to_string(removed_ids.size()) + " vectors");
        }
      } else {
        // HNSW cannot delete: hide them from reads and rebuild before the next save.
        stale_ids_.insert(removed_ids.begin(), removed_ids.end());
      }
    }
    if (added_ids.empty()) return ok_status();
    if (vectors_ == nullptr) {
      QUIRE_ASSIGN_OR_RETURN(vectors_, VectorIndex::create(kind_, dim_));
    }
    return vectors_->add(added_ids, added_vectors);
  }();
  if (!status.ok()) {
    broken_ = true;
    QUIRE_LOG_WARN("index '%s': vector index update failed, will rebuild from the database: %s",
                   dir_.c_str(), status.to_string().c_str());
  }
  return status;
}

void VectorSync::clear() {
  vectors_.reset();
  stale_ids_.clear();
  broken_ = false;
}

Result<int64_t> VectorSync::rebuild(MetadataStore& meta) {
  std::unique_ptr<VectorIndex> rebuilt;
  std::vector<int64_t> ids;
  std::vector<float> batch;
  int64_t count = 0;
  auto add_batch = [&]() -> Status {
    if (ids.empty()) return ok_status();
    if (rebuilt == nullptr) {
      QUIRE_ASSIGN_OR_RETURN(rebuilt, VectorIndex::create(kind_, dim_));
    }
    QUIRE_RETURN_IF_ERROR(rebuilt->add(ids, batch));
    count += static_cast<int64_t>(ids.size());
    ids.clear();
    batch.clear();
    return ok_status();
  };
  QUIRE_RETURN_IF_ERROR(meta.for_each_embedding([&](int64_t id,
                                                    std::span<const std::byte> blob) -> Status {
    if (dim_ == 0) {
      return data_loss_error("index '" + dir_ + "': chunk " + std::to_string(id) +
                             " has an embedding but no embedding model is recorded");
    }
    const size_t expected = static_cast<size_t>(dim_) * sizeof(float);
    if (blob.size() != expected) {
      return data_loss_error("index '" + dir_ + "': chunk " + std::to_string(id) +
                             " embedding has " + std::to_string(blob.size()) + " bytes, expected " +
                             std::to_string(expected) + " (dim " + std::to_string(dim_) + ")");
    }
    ids.push_back(id);
    const size_t offset = batch.size();
    batch.resize(offset + static_cast<size_t>(dim_));
    std::memcpy(batch.data() + offset, blob.data(), blob.size());
    if (ids.size() == kRebuildBatch) return add_batch();
    return ok_status();
  }));
  QUIRE_RETURN_IF_ERROR(add_batch());
  vectors_ = std::move(rebuilt);
  stale_ids_.clear();
  broken_ = false;
  saved_generation_ = -1;
  return count;
}

Status VectorSync::repair_if_broken(MetadataStore& meta) {
  if (!broken_) return ok_status();
  QUIRE_ASSIGN_OR_RETURN(int64_t count, rebuild(meta));
  QUIRE_LOG_INFO("index '%s': rebuilt the vector index from %s chunk vectors", dir_.c_str(),
                 format_grouped(count).c_str());
  return ok_status();
}

Status VectorSync::save(int64_t generation) {
  if (needs_rebuild()) {
    return internal_error("index '" + dir_ + "': vector index saved before its rebuild");
  }
  if (saved_generation_ == generation) return ok_status();
  if (vectors_ != nullptr) QUIRE_RETURN_IF_ERROR(write_vectors_file(dir_, generation, *vectors_));
  // Older files only after the new one is durable: a crash in between leaves one that open()
  // either uses or replaces.
  QUIRE_RETURN_IF_ERROR(remove_other_vectors_files(dir_, vectors_ != nullptr ? generation : -1));
  saved_generation_ = generation;
  return ok_status();
}

int64_t VectorSync::live_count() const {
  if (vectors_ == nullptr) return 0;
  return vectors_->size() - static_cast<int64_t>(stale_ids_.size());
}

Result<std::vector<SearchHit>> VectorSync::search(const float* query, int64_t k) const {
  std::vector<SearchHit> hits;
  if (vectors_ == nullptr || k <= 0) return hits;
  // Over-fetch by the number of stale vectors so that k live ones remain after skipping.
  const int64_t fetch = k + static_cast<int64_t>(stale_ids_.size());
  QUIRE_ASSIGN_OR_RETURN(std::vector<SearchHit> found, vectors_->search(query, fetch));
  for (const SearchHit& hit : found) {
    if (stale_ids_.contains(hit.chunk_id)) continue;
    hits.push_back(hit);
    if (static_cast<int64_t>(hits.size()) == k) break;
  }
  return hits;
}

Result<std::vector<SearchHit>> VectorSync::search_among(const float* query, int64_t k,
                                                        const std::vector<int64_t>& allowed) const {
  if (vectors_ == nullptr || k <= 0) return std::vector<SearchHit>();
  return vectors_->search_among(query, k, allowed);
}

Result<std::vector<ChunkVector>> VectorSync::get(const std::vector<int64_t>& ids) const {
  std::vector<ChunkVector> out;
  if (vectors_ == nullptr) return out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    if (stale_ids_.contains(id)) continue;
    ChunkVector item;
    item.chunk_id = id;
    item.vector.resize(static_cast<size_t>(vectors_->dim()));
    QUIRE_ASSIGN_OR_RETURN(bool held, vectors_->reconstruct(id, item.vector.data()));
    if (held) out.push_back(std::move(item));
  }
  return out;
}

}  // namespace quire::index
