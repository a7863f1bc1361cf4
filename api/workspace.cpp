#include "api/workspace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/core/log.h"

namespace quire::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kConfigFile = "config.json";

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// The whole config.json as an object ({} when absent).
Result<json> read_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return json::object();
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return data_loss_error("'" + path + "' is not a JSON object (fix or remove it)");
  }
  return j;
}

Status read_string(const json& j, const std::string& path, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return ok_status();
  if (!it->is_string()) {
    return data_loss_error("'" + path + "': key \"" + key + "\" must be a string, got " +
                           it->type_name());
  }
  *out = it->get<std::string>();
  return ok_status();
}

Status read_int(const json& j, const std::string& path, const char* key, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end()) return ok_status();
  if (!it->is_number_integer()) {
    return data_loss_error("'" + path + "': key \"" + key + "\" must be an integer, got " +
                           it->type_name());
  }
  *out = it->get<int64_t>();
  return ok_status();
}

Status parse_config(const json& j, const std::string& path, WorkspaceConfig& c) {
  QUIRE_RETURN_IF_ERROR(read_string(j, path, "embed_model", &c.embed_model));
  QUIRE_RETURN_IF_ERROR(read_string(j, path, "llm", &c.llm));
  QUIRE_RETURN_IF_ERROR(read_string(j, path, "rerank_model", &c.rerank_model));
  QUIRE_RETURN_IF_ERROR(read_int(j, path, "chunk_tokens", &c.chunk_tokens));
  QUIRE_RETURN_IF_ERROR(read_int(j, path, "chunk_overlap", &c.chunk_overlap));
  QUIRE_RETURN_IF_ERROR(read_string(j, path, "index", &c.index_kind));
  if (auto it = j.find("roots"); it != j.end()) {
    if (!it->is_array()) {
      return data_loss_error("'" + path + "': key \"roots\" must be an array of folder paths");
    }
    for (const json& r : *it) {
      if (!r.is_string()) {
        return data_loss_error("'" + path + "': key \"roots\" must hold strings, got " +
                               std::string(r.type_name()));
      }
      c.roots.push_back(r.get<std::string>());
    }
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "embed_model" && key != "llm" && key != "rerank_model" && key != "chunk_tokens" &&
        key != "chunk_overlap" && key != "index" && key != "roots") {
      QUIRE_LOG_DEBUG("%s: key \"%s\" is not one this version knows (kept)", path.c_str(),
                      key.c_str());
    }
  }
  return ok_status();
}

// Writes `j` to `path` through a temp file, fsync and rename, so a crash leaves the old file
// or the new one.
Status write_config(const std::string& path, const json& j) {
  const std::string tmp = path + ".tmp";
  const std::string text = j.dump(1) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "cannot write '" + tmp + "'");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_error(err, "cannot write '" + tmp + "'");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return errno_error(errno, "cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return errno_error(errno, "cannot replace '" + path + "'");
  }
  return ok_status();
}

}  // namespace

std::string default_workspace_dir() {
  if (const char* d = std::getenv("QUIRE_DB"); d != nullptr && *d != '\0') return d;
  if (const char* d = std::getenv("XDG_DATA_HOME"); d != nullptr && *d != '\0') {
    return std::string(d) + "/quire";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return std::string(h) + "/.local/share/quire";
  }
  return ".quire";
}

Result<Workspace> Workspace::load(const WorkspaceFlags& flags) {
  Workspace w;
  w.dir_ = flags.dir.empty() ? default_workspace_dir() : flags.dir;
  const std::string path = w.dir_ + "/" + kConfigFile;
  QUIRE_ASSIGN_OR_RETURN(const json file, read_config(path));
  WorkspaceConfig& c = w.config_;
  QUIRE_RETURN_IF_ERROR(parse_config(file, path, c));
  const auto choose = [](std::string& value, const std::string& flag, const char* env) {
    if (!flag.empty()) {
      value = flag;
    } else if (std::string e = env_or_empty(env); !e.empty()) {
      value = e;
    }
  };
  choose(c.embed_model, flags.embed_model, "QUIRE_EMBED_MODEL");
  choose(c.llm, flags.llm, "QUIRE_LLM");
  choose(c.rerank_model, flags.rerank_model, "QUIRE_RERANK_MODEL");
  if (!flags.index_kind.empty()) c.index_kind = flags.index_kind;
  if (flags.chunk_tokens >= 0) c.chunk_tokens = flags.chunk_tokens;
  if (flags.chunk_overlap >= 0) c.chunk_overlap = flags.chunk_overlap;

  const bool kind_flag = !flags.index_kind.empty();
  if (c.index_kind != "flat" && c.index_kind != "hnsw") {
    return invalid_argument_error(std::string(kind_flag ? "--index" : "'" + path + "': \"index\"") +
                                  ": '" + c.index_kind + "', expected flat or hnsw");
  }
  if (c.chunk_tokens < 16 || c.chunk_tokens > 8192) {
    return invalid_argument_error(std::string(flags.chunk_tokens >= 0
                                                  ? "--chunk-tokens"
                                                  : "'" + path + "': \"chunk_tokens\"") +
                                  ": expected 16..8192");
  }
  if (c.chunk_overlap < 0 || c.chunk_overlap >= c.chunk_tokens) {
    return invalid_argument_error(flags.chunk_overlap >= 0 || flags.chunk_tokens >= 0
                                      ? "--overlap must be smaller than --chunk-tokens"
                                      : "'" + path +
                                            "': \"chunk_overlap\" must be at least 0 and "
                                            "smaller than \"chunk_tokens\"");
  }
  return w;
}

bool Workspace::index_exists() const {
  return fs::exists(db_path());
}

Status Workspace::create_dir() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return errno_error(ec.value(), "cannot create the index directory '" + dir_ + "'");
  return ok_status();
}

Status Workspace::remember_embed_model(const std::string& embed_model) const {
  const std::string path = dir_ + "/" + kConfigFile;
  QUIRE_ASSIGN_OR_RETURN(json file, read_config(path));
  const std::string absolute = fs::absolute(embed_model).lexically_normal().string();
  // Re-runs with the same model leave the file alone (no write, no temp file to leave behind).
  if (auto it = file.find("embed_model"); it != file.end() && *it == absolute) return ok_status();
  file["embed_model"] = absolute;
  return write_config(path, file);
}

Result<OpenedIndex> Workspace::open_index(bool with_embedder, int threads) const {
  OpenedIndex o;
  index::StoreOptions options;
  if (config_.index_kind == "hnsw") options.index_kind = index::VectorIndexKind::kHnsw;
  QUIRE_ASSIGN_OR_RETURN(o.store, index::Store::open(dir_, options));
  const auto& repair = o.store->repair_report();
  if (repair.repaired) std::fprintf(stderr, "quire: repaired the index: %s\n", repair.what.c_str());
  if (with_embedder && !config_.embed_model.empty()) {
    engine::EmbedderOptions eo;
    eo.threads = threads;
    QUIRE_ASSIGN_OR_RETURN(o.embedder, engine::open_embedder(config_.embed_model, eo));
  }
  return o;
}

Status Workspace::check_query_model(OpenedIndex& o) const {
  if (o.embedder == nullptr) return ok_status();
  // Query vectors of another model would be compared with the index's as if they meant the
  // same: refuse rather than return noise.
  QUIRE_ASSIGN_OR_RETURN(auto recorded, o.store->embedding_model());
  if (!recorded) return ok_status();
  QUIRE_ASSIGN_OR_RETURN(const std::string fingerprint, o.embedder->fingerprint());
  if (fingerprint == recorded->fingerprint) return ok_status();
  return failed_precondition_error(
      "the index at '" + dir_ + "' was built with the embedding model '" + recorded->name + "' (" +
      std::to_string(recorded->dim) + " dimensions); '" + config_.embed_model +
      "' is another embedding model (" + std::to_string(o.embedder->dim()) +
      " dimensions). Omit --embed-model to use the index's, or rebuild it with quire index "
      "--embed-model M --reembed");
}

}  // namespace quire::api
