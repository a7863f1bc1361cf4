// The records the index stores and returns: documents, chunks, the embedding model, search hits.
// Plain values; store.h includes this header, so callers of Store see them there.
//
// Thread-safety: plain structs; a value may be read from many threads while none writes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace quire::index {

struct DocumentRecord {
  int64_t id = 0;
  std::string path;    // as given (absolute), unique
  std::string sha256;  // content hash of the file
  int64_t mtime = 0;   // seconds since the epoch
  int64_t size = 0;    // bytes
  std::string title;
  int64_t pages = 0;
  std::string status;  // "indexed" or "failed"
  std::string error;   // why it failed
  // Where each page begins in the document's text (the offsets chunks use): page_starts[i] is
  // the offset of page i + 1. Empty when unknown (documents indexed before schema 3).
  std::vector<int64_t> page_starts;
};

// The page holding character `offset` of the document's text (1-based), or 0 when the document
// records no page offsets.
inline int64_t page_at(const DocumentRecord& doc, int64_t offset) {
  int64_t page = 0;
  for (size_t i = 0; i < doc.page_starts.size() && doc.page_starts[i] <= offset; ++i) {
    page = static_cast<int64_t>(i) + 1;
  }
  return page;
}

struct ChunkRecord {
  int64_t id = 0;  // SQLite rowid = FAISS id
  int64_t doc_id = 0;
  int64_t ord = 0;         // position within the document
  int64_t page_start = 0;  // 1-based, inclusive
  int64_t page_end = 0;
  int64_t char_start = 0;  // offsets into the document's normalized text
  int64_t char_end = 0;
  int64_t n_tokens = 0;
  std::string text;
};

struct EmbeddingModelInfo {
  std::string name;
  int64_t dim = 0;
  std::string fingerprint;  // sha256 of the model's tensor data
};

enum class VectorIndexKind { kFlat, kHnsw };

// "flat", "hnsw": the names meta 'index_kind' and the CLI use.
inline const char* vector_index_kind_name(VectorIndexKind kind) {
  return kind == VectorIndexKind::kHnsw ? "hnsw" : "flat";
}

struct SearchHit {
  int64_t chunk_id = 0;
  double score = 0;  // higher is better (inner product; negated BM25)
};

// A chunk's stored vector (dim floats, as given to put_document: L2-normalized by the caller).
struct ChunkVector {
  int64_t chunk_id = 0;
  std::vector<float> vector;
};

}  // namespace quire::index
