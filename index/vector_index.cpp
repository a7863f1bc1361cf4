#include "index/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

namespace quire::index {
namespace {

// Runs `body`, turning the exceptions FAISS (and the allocations it makes) can throw into a
// Status that names `what`.
template <typename Body>
Status guarded(const std::string& what, Body&& body) {
  try {
    body();
    return ok_status();
  } catch (const faiss::FaissException& e) {
    return internal_error(what + ": faiss: " + e.what());
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error(what + ": out of memory");
  } catch (const std::exception& e) {
    return internal_error(what + ": " + e.what());
  }
}

// A 64-bit checksum of a byte stream, for detecting damaged files (not an adversary). Each 8-byte
// little-endian word goes through a bijective step (odd multiply, xor, rotate, odd multiply), so
// a file that differs in one word always gives a different sum; the length and a final
// avalanche finish it. The result does not depend on how the stream is split into update()s.
class Checksum64 {
 public:
  void update(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    length_ += size;
    if (pending_size_ > 0) {
      const size_t take = std::min(size, sizeof(pending_) - pending_size_);
      std::memcpy(pending_ + pending_size_, bytes, take);
      pending_size_ += take;
      bytes += take;
      size -= take;
      if (pending_size_ < sizeof(pending_)) return;
      mix(load(pending_));
      pending_size_ = 0;
    }
    for (; size >= 8; bytes += 8, size -= 8) mix(load(bytes));
    std::memcpy(pending_, bytes, size);
    pending_size_ = size;
  }

  uint64_t finish() const {
    uint64_t h = state_;
    if (pending_size_ > 0) {
      uint8_t last[8] = {};
      std::memcpy(last, pending_, pending_size_);
      h = step(h, load(last));
    }
    h ^= length_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  static uint64_t load(const uint8_t* p) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | p[i];
    return word;
  }
  static uint64_t step(uint64_t h, uint64_t word) {
    h ^= word * 0x9e3779b97f4a7c15ULL;
    h = (h << 31) | (h >> 33);
    return h * 0xd6e8feb86659fd93ULL;
  }
  void mix(uint64_t word) { state_ = step(state_, word); }

  uint64_t state_ = 0x243f6a8885a308d3ULL;
  uint64_t length_ = 0;
  uint8_t pending_[8] = {};
  size_t pending_size_ = 0;
};

// The footer after the FAISS bytes: magic, payload size, checksum (little-endian u64s).
constexpr char kFooterMagic[8] = {'Q', 'V', 'E', 'C', 'S', 'U', 'M', '1'};
constexpr size_t kFooterSize = 24;

void put_u64(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get_u64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

// A FAISS writer into a FILE* that checksums what it writes.
struct ChecksumFileWriter : faiss::IOWriter {
  FILE* file = nullptr;
  Checksum64 checksum;
  uint64_t bytes = 0;

  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    const size_t written = std::fwrite(ptr, size, nitems, file);
    checksum.update(ptr, size * written);
    bytes += size * written;
    return written;
  }
};

// Checks the footer and the checksum of the payload before FAISS parses a byte of it, so that
// a truncated or damaged file is reported as such (and FAISS's reader, which leaks and may
// allocate whatever a damaged count says, never sees it).
Status verify_file(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return errno_error(errno, "opening '" + path + "'");
  auto close = [&](Status status) {
    std::fclose(file);
    return status;
  };
  if (std::fseek(file, 0, SEEK_END) != 0)
    return close(errno_error(errno, "seeking '" + path + "'"));
  const long end = std::ftell(file);
  if (end < static_cast<long>(kFooterSize)) {
    return close(data_loss_error("vector index '" + path + "': " + std::to_string(end) +
                                 " bytes, too short for a quire vectors file"));
  }
  uint8_t footer[kFooterSize];
  if (std::fseek(file, end - static_cast<long>(kFooterSize), SEEK_SET) != 0 ||
      std::fread(footer, 1, kFooterSize, file) != kFooterSize) {
    return close(errno_error(errno, "reading '" + path + "'"));
  }
  if (std::memcmp(footer, kFooterMagic, sizeof(kFooterMagic)) != 0) {
    return close(data_loss_error("vector index '" + path +
                                 "': no QVECSUM1 footer (not a quire vectors file, or truncated)"));
  }
  const uint64_t payload = get_u64(footer + 8);
  const uint64_t expected = get_u64(footer + 16);
  if (payload != static_cast<uint64_t>(end) - kFooterSize) {
    return close(data_loss_error("vector index '" + path + "': footer says " +
                                 std::to_string(payload) + " bytes of index, file has " +
                                 std::to_string(end - static_cast<long>(kFooterSize))));
  }
  std::rewind(file);
  Checksum64 checksum;
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t left = payload;
  while (left > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    if (std::fread(buffer.data(), 1, want, file) != want) {
      return close(errno_error(errno, "reading '" + path + "'"));
    }
    checksum.update(buffer.data(), want);
    left -= want;
  }
  if (checksum.finish() != expected) {
    return close(data_loss_error("vector index '" + path + "': checksum mismatch (damaged file)"));
  }
  return close(ok_status());
}

}  // namespace

VectorIndex::VectorIndex(VectorIndexKind kind, int64_t dim,
                         std::unique_ptr<faiss::IndexIDMap2> index)
    : kind_(kind), dim_(dim), index_(std::move(index)) {}

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::create(VectorIndexKind kind, int64_t dim) {
  if (dim <= 0 || dim > (1 << 16)) {
    return invalid_argument_error("vector index: dimension " + std::to_string(dim) +
                                  ", expected 1..65536");
  }
  std::unique_ptr<faiss::IndexIDMap2> map;
  Status status = guarded("creating a " + std::string(vector_index_kind_name(kind)) +
                              " vector index of dimension " + std::to_string(dim),
                          [&] {
                            std::unique_ptr<faiss::Index> inner;
                            if (kind == VectorIndexKind::kHnsw) {
                              auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(
                                  static_cast<int>(dim), kHnswM, faiss::METRIC_INNER_PRODUCT);
                              hnsw->hnsw.efConstruction = kHnswEfConstruction;
                              hnsw->hnsw.efSearch = kHnswEfSearch;
                              inner = std::move(hnsw);
                            } else {
                              inner = std::make_unique<faiss::IndexFlatIP>(dim);
                            }
                            map = std::make_unique<faiss::IndexIDMap2>(inner.get());
                            map->own_fields = true;
                            inner.release();
                          });
  QUIRE_RETURN_IF_ERROR(status);
  return std::unique_ptr<VectorIndex>(new VectorIndex(kind, dim, std::move(map)));
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::load(const std::string& path) {
  QUIRE_RETURN_IF_ERROR(verify_file(path));
  std::unique_ptr<faiss::Index> loaded;
  Status status = guarded("reading vector index '" + path + "'",
                          [&] { loaded.reset(faiss::read_index(path.c_str())); });
  if (!status.ok()) {
    // Whatever FAISS could not parse is a damaged file, not a bug.
    return status.code() == StatusCode::kResourceExhausted ? status
                                                           : data_loss_error(status.message());
  }
  auto* map = dynamic_cast<faiss::IndexIDMap2*>(loaded.get());
  if (map == nullptr) {
    return data_loss_error("vector index '" + path + "': not an IndexIDMap2");
  }
  VectorIndexKind kind;
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(map->index); hnsw != nullptr) {
    kind = VectorIndexKind::kHnsw;
    hnsw->hnsw.efSearch = kHnswEfSearch;
  } else if (dynamic_cast<faiss::IndexFlat*>(map->index) != nullptr) {
    kind = VectorIndexKind::kFlat;
  } else {
    return data_loss_error("vector index '" + path +
                           "': expected IndexFlatIP or IndexHNSWFlat inside the id map");
  }
  if (map->metric_type != faiss::METRIC_INNER_PRODUCT ||
      map->index->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return data_loss_error("vector index '" + path + "': metric is not inner product");
  }
  if (map->id_map.size() != static_cast<size_t>(map->ntotal) || map->index->ntotal != map->ntotal) {
    return data_loss_error("vector index '" + path + "': " + std::to_string(map->ntotal) +
                           " vectors but " + std::to_string(map->id_map.size()) + " ids");
  }
  const int64_t dim = map->d;
  loaded.release();
  return std::unique_ptr<VectorIndex>(
      new VectorIndex(kind, dim, std::unique_ptr<faiss::IndexIDMap2>(map)));
}

int64_t VectorIndex::size() const {
  return index_->ntotal;
}

Status VectorIndex::add(const std::vector<int64_t>& ids, const std::vector<float>& vectors) {
  if (vectors.size() != ids.size() * static_cast<size_t>(dim_)) {
    return invalid_argument_error("vector index: " + std::to_string(vectors.size()) +
                                  " floats for " + std::to_string(ids.size()) +
                                  " ids of dimension " + std::to_string(dim_));
  }
  if (ids.empty()) return ok_status();
  return guarded("adding " + std::to_string(ids.size()) + " vectors", [&] {
    index_->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), vectors.data(), ids.data());
  });
}

Result<int64_t> VectorIndex::remove(const std::vector<int64_t>& ids) {
  if (!supports_remove()) {
    return unimplemented_error("vector index: an HNSW index cannot remove vectors");
  }
  if (ids.empty()) return int64_t{0};
  size_t removed = 0;
  QUIRE_RETURN_IF_ERROR(guarded("removing " + std::to_string(ids.size()) + " vectors", [&] {
    faiss::IDSelectorBatch selector(ids.size(), ids.data());
    removed = index_->remove_ids(selector);
  }));
  return static_cast<int64_t>(removed);
}

Result<std::vector<SearchHit>> VectorIndex::search(const float* query, int64_t k) const {
  std::vector<SearchHit> hits;
  if (k <= 0 || index_->ntotal == 0) return hits;
  k = std::min<int64_t>(k, index_->ntotal);
  std::vector<float> distances(static_cast<size_t>(k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(k));
  QUIRE_RETURN_IF_ERROR(guarded("searching the vector index", [&] {
    index_->search(1, query, k, distances.data(), labels.data());
  }));
  hits.reserve(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    if (labels[i] < 0) continue;  // fewer than k found (HNSW may fall short)
    hits.push_back(SearchHit{labels[i], static_cast<double>(distances[i])});
  }
  return hits;
}

Result<std::vector<SearchHit>> VectorIndex::search_among(
    const float* query, int64_t k, const std::vector<int64_t>& allowed) const {
  std::vector<SearchHit> hits;
  // Positions inside the wrapped index: FAISS 1.7's IndexIDMap refuses SearchParameters, so the
  // selector goes to the inner index, which numbers its vectors 0..ntotal-1.
  std::vector<faiss::Index::idx_t> positions;
  positions.reserve(allowed.size());
  for (int64_t id : allowed) {
    auto it = index_->rev_map.find(id);
    if (it != index_->rev_map.end()) positions.push_back(it->second);
  }
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  const int64_t want = std::min<int64_t>(k, static_cast<int64_t>(positions.size()));
  if (want <= 0) return hits;

  const bool small = kind_ == VectorIndexKind::kHnsw &&
                     static_cast<int64_t>(positions.size()) <= kHnswExactScanMax;
  if (!small) {
    std::vector<float> distances(static_cast<size_t>(want));
    std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(want));
    QUIRE_RETURN_IF_ERROR(guarded("searching the vector index with a filter", [&] {
      faiss::IDSelectorBatch selector(positions.size(), positions.data());
      if (kind_ == VectorIndexKind::kHnsw) {
        faiss::SearchParametersHNSW params;
        params.sel = &selector;
        params.efSearch = std::max<int>(kHnswEfSearch, static_cast<int>(want));
        index_->index->search(1, query, want, distances.data(), labels.data(), &params);
      } else {
        faiss::SearchParameters params;
        params.sel = &selector;
        index_->index->search(1, query, want, distances.data(), labels.data(), &params);
      }
    }));
    for (int64_t i = 0; i < want; ++i) {
      if (labels[i] < 0) continue;
      hits.push_back(SearchHit{index_->id_map[static_cast<size_t>(labels[i])],
                               static_cast<double>(distances[i])});
    }
    if (static_cast<int64_t>(hits.size()) == want) return hits;
  }

  // Few allowed vectors, or a graph walk that fell short: score every allowed vector exactly.
  hits.clear();
  hits.reserve(positions.size());
  std::vector<float> vector(static_cast<size_t>(dim_));
  QUIRE_RETURN_IF_ERROR(guarded("scanning the filtered vectors", [&] {
    for (faiss::Index::idx_t position : positions) {
      index_->index->reconstruct(position, vector.data());
      double dot = 0;
      for (int64_t j = 0; j < dim_; ++j) dot += static_cast<double>(query[j]) * vector[j];
      hits.push_back(SearchHit{index_->id_map[static_cast<size_t>(position)], dot});
    }
  }));
  auto better = [](const SearchHit& a, const SearchHit& b) {
    return a.score != b.score ? a.score > b.score : a.chunk_id < b.chunk_id;
  };
  std::partial_sort(hits.begin(), hits.begin() + want, hits.end(), better);
  hits.resize(static_cast<size_t>(want));
  return hits;
}

Result<bool> VectorIndex::reconstruct(int64_t id, float* out) const {
  auto it = index_->rev_map.find(id);
  if (it == index_->rev_map.end()) return false;
  QUIRE_RETURN_IF_ERROR(guarded("reading vector " + std::to_string(id),
                                [&] { index_->index->reconstruct(it->second, out); }));
  return true;
}

std::vector<int64_t> VectorIndex::ids() const {
  return std::vector<int64_t>(index_->id_map.begin(), index_->id_map.end());
}

Status VectorIndex::save(const std::string& path) const {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return errno_error(errno, "creating '" + path + "'");
  ChecksumFileWriter writer;
  writer.file = file;
  writer.name = path;
  Status status = guarded("writing vector index '" + path + "'",
                          [&] { faiss::write_index(index_.get(), &writer); });
  if (status.ok()) {
    uint8_t footer[kFooterSize];
    std::memcpy(footer, kFooterMagic, sizeof(kFooterMagic));
    put_u64(footer + 8, writer.bytes);
    put_u64(footer + 16, writer.checksum.finish());
    if (std::fwrite(footer, 1, kFooterSize, file) != kFooterSize) {
      status = errno_error(errno, "writing '" + path + "'");
    }
  }
  if (status.ok() && std::fflush(file) != 0) status = errno_error(errno, "writing '" + path + "'");
  if (status.ok() && ::fsync(::fileno(file)) != 0) {
    status = errno_error(errno, "fsync '" + path + "'");
  }
  if (std::fclose(file) != 0 && status.ok()) status = errno_error(errno, "closing '" + path + "'");
  return status;
}

}  // namespace quire::index
