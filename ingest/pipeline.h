// Indexing: files (or in-memory texts) -> extracted, normalized, chunked, embedded -> Store.
//
// Incremental: a file whose size and mtime match its record is unchanged; otherwise its sha256
// decides (a touched but identical file only gets its mtime updated). Documents under the given
// roots whose files are gone are removed. Each document is committed in one transaction before it
// is reported done, so a crash loses at most the documents in flight. Extraction of the next
// files runs on a second thread while the current one is embedded and written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"
#include "index/store.h"
#include "ingest/chunker.h"

namespace quire::ingest {

// What happened to one file.
enum class IndexOutcome {
  kIndexed,    // new or changed, now stored
  kUnchanged,  // same content as stored
  kFailed,     // not indexed; IndexProgress::error says why
  kRemoved,    // its file is gone, so was its record
};

// "indexed", "unchanged", "failed", "removed": the words progress lines and JSON use.
const char* outcome_name(IndexOutcome outcome);

struct IndexProgress {
  int64_t files_done = 0;
  int64_t files_total = 0;  // files to process (new or changed)
  int64_t pages = 0;
  int64_t chunks = 0;
  double seconds = 0;
  std::string current;  // path just finished
  IndexOutcome outcome = IndexOutcome::kIndexed;
  std::string error;  // kFailed: the reason (the Status message); else empty
};

struct StageTimes {
  double extract = 0, normalize = 0, chunk = 0, embed = 0, write = 0;
};

struct IndexSummary {
  int64_t files_seen = 0;  // supported files under the roots
  int64_t indexed = 0;     // new or changed, now indexed
  int64_t unchanged = 0;
  int64_t removed = 0;
  int64_t failed = 0;
  int64_t unsupported = 0;                                    // files skipped for their type
  std::vector<std::pair<std::string, std::string>> failures;  // path, reason
  int64_t pages = 0;
  int64_t chunks = 0;
  double seconds = 0;
  StageTimes stages;   // seconds per stage (extraction overlaps the others)
  bool dense = false;  // vectors were computed
};

struct PipelineOptions {
  ChunkerOptions chunker;
  bool reembed = false;
  int64_t flush_every_documents = 50;                     // FAISS file written at least this often
  std::function<void(const IndexProgress&)> on_progress;  // after every file
};

// A text that is not a file (BEIR corpora, uploads): `key` plays the role of the path.
struct TextDocument {
  std::string key;
  std::string title;
  std::string text;
};

class IndexPipeline {
 public:
  // `embedder` may be nullptr: a BM25-only index. Chunks are tokenized once, by the chunker
  // (tokenizer().encode with special tokens, parse_special off: document text is never read as
  // control tokens), and embedded from those ids (Embedder::embed_tokens).
  IndexPipeline(index::Store& store, engine::Embedder* embedder, PipelineOptions options);

  // Indexes every supported file under `roots` (files or directories, recursively; hidden
  // entries skipped) and removes records of files under them that are gone.
  Result<IndexSummary> index_paths(const std::vector<std::string>& roots);

  // Indexes texts by key; a key already indexed with the same content is skipped.
  Result<IndexSummary> index_texts(const std::vector<TextDocument>& docs);

 private:
  Status prepare_model(bool& reprocess_all);

  index::Store& store_;
  engine::Embedder* embedder_;
  PipelineOptions options_;
};

// Absolute, lexically normal form used as a document's path key.
std::string canonical_path(const std::string& path);

}  // namespace quire::ingest
