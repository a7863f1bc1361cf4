// A workspace: one index directory and the configuration that goes with it, in one place for
// every command and the HTTP server.
//
// The directory (--db, else $QUIRE_DB, else $XDG_DATA_HOME/quire, else ~/.local/share/quire)
// holds quire.db (SQLite), vectors.<generation>.faiss and config.json. config.json is a JSON
// object with these keys, all optional (docs/cli.md, "Workspace configuration"):
//   "embed_model"    path of the embedding GGUF that built the index (written by quire index)
//   "llm"            path of the generation GGUF used by ask, batch and serve
//   "rerank_model"   path of a cross-encoder reranker GGUF
//   "chunk_tokens"   target tokens per chunk for new documents (16..8192, default 256)
//   "chunk_overlap"  tokens shared by consecutive chunks (default 32, < chunk_tokens)
//   "index"          "flat" (default) or "hnsw": the vector index kind of a new index
//   "roots"          array of folders the server may index (paths given by clients must be
//                    under one of them)
// Values resolve in this order: a command-line flag, then the environment (QUIRE_EMBED_MODEL,
// QUIRE_LLM, QUIRE_RERANK_MODEL), then config.json, then the default. Keys this version does
// not know are kept when the file is rewritten and reported once at debug level.
//
// Thread-safety: a Workspace is a value; load/save are not synchronized with other processes
// beyond the atomic rename that replaces config.json.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"
#include "index/store.h"

namespace quire::api {

struct WorkspaceConfig {
  std::string embed_model;
  std::string llm;
  std::string rerank_model;
  int64_t chunk_tokens = 256;
  int64_t chunk_overlap = 32;
  std::string index_kind = "flat";
  std::vector<std::string> roots;
};

// What the command line says; empty strings and negative numbers mean "not given".
struct WorkspaceFlags {
  std::string dir;
  std::string embed_model;
  std::string llm;
  std::string rerank_model;
  int64_t chunk_tokens = -1;
  int64_t chunk_overlap = -1;
  std::string index_kind;
};

// The default index directory (see the header comment).
std::string default_workspace_dir();

// A workspace's store and embedder, opened together.
struct OpenedIndex {
  std::unique_ptr<index::Store> store;
  std::unique_ptr<engine::Embedder> embedder;  // nullptr: BM25 only
};

class Workspace {
 public:
  // Reads <dir>/config.json (absent: defaults) and applies the environment and `flags` over it.
  // Errors: kDataLoss for a config.json that is not a JSON object or holds a key of the wrong
  // type (the message names the file and key); kInvalidArgument for values out of range
  // (chunk sizes, index kind), naming the flag or key.
  static Result<Workspace> load(const WorkspaceFlags& flags);

  const std::string& dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/quire.db"; }
  bool index_exists() const;
  // The effective configuration (flags > environment > file > defaults).
  const WorkspaceConfig& config() const { return config_; }

  // Creates the directory if needed. kInvalidArgument-free: errors are the filesystem's.
  Status create_dir() const;
  // Records `embed_model` (as an absolute path) in config.json, keeping every other key; the
  // file is replaced atomically (temp file, fsync, rename), and not at all when it already
  // says so.
  Status remember_embed_model(const std::string& embed_model) const;

  // Opens the store (a new one gets config().index_kind) and, when `with_embedder` and an
  // embedding model is configured, the embedder (`threads` workers; 0: all CPUs).
  // Repairs made on open are printed to stderr as "quire: repaired the index: ...".
  Result<OpenedIndex> open_index(bool with_embedder, int threads = 0) const;
  // For searching: kFailedPrecondition when the opened embedder is not the model the index's
  // vectors were made with (compared by tensor-data fingerprint). OK without an embedder or
  // for a BM25-only index.
  Status check_query_model(OpenedIndex& opened) const;

 private:
  std::string dir_;
  WorkspaceConfig config_;
};

}  // namespace quire::api
