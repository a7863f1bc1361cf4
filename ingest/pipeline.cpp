#include "ingest/pipeline.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "engine/core/crash_point.h"
#include "engine/core/mmap_file.h"
#include "engine/core/sha256.h"
#include "engine/core/timer.h"
#include "ingest/extract.h"
#include "ingest/normalize.h"

namespace quire::ingest {
namespace fs = std::filesystem;

const char* outcome_name(IndexOutcome outcome) {
  switch (outcome) {
    case IndexOutcome::kIndexed:
      return "indexed";
    case IndexOutcome::kUnchanged:
      return "unchanged";
    case IndexOutcome::kFailed:
      return "failed";
    case IndexOutcome::kRemoved:
      return "removed";
  }
  return "unknown";
}

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (ec) return path;
  return p.lexically_normal().string();
}

namespace {

// One unit of work for the extraction thread.
struct Work {
  index::DocumentRecord record;  // path, size, mtime filled; sha256 filled by the worker
  std::optional<TextDocument> text;
  std::string known_sha;  // the stored hash, when the document exists
};

// What the extraction thread hands to the writer.
struct Prepared {
  Work work;
  Status status;
  bool unchanged = false;  // same content as stored
  std::vector<Page> pages;
  EncodedChunks chunks;  // token_ids empty without an embedder
  double t_extract = 0, t_normalize = 0, t_chunk = 0;
};

// A bounded single-producer single-consumer queue.
class PreparedQueue {
 public:
  explicit PreparedQueue(size_t capacity) : capacity_(capacity) {}
  void push(Prepared p) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || cancelled_; });
    if (cancelled_) return;
    items_.push_back(std::move(p));
    not_empty_.notify_one();
  }
  std::optional<Prepared> pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || done_; });
    if (items_.empty()) return std::nullopt;
    Prepared p = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return p;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    not_empty_.notify_all();
  }
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    not_full_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Prepared> items_;
  bool done_ = false, cancelled_ = false;
};

// `encode` is null without an embedder: chunks are measured with estimate_tokens().
Prepared prepare(Work work, const ChunkerOptions& chunker, const TokenEncoder* encode) {
  Prepared p;
  Timer t;
  if (work.text) {
    const std::string body =
        work.text->title.empty() ? work.text->text : work.text->title + "\n\n" + work.text->text;
    work.record.sha256 = sha256_hex(body.data(), body.size());
    work.record.title = work.text->title;
    if (work.record.sha256 == work.known_sha) {
      p.unchanged = true;
      p.work = std::move(work);
      return p;
    }
    p.pages = {Page{1, body}};
  } else {
    // One mapping: the hash and the extraction read the same bytes.
    auto mapped = MappedFile::open(work.record.path);
    if (!mapped.ok()) {
      p.status = mapped.status();
      p.work = std::move(work);
      return p;
    }
    work.record.sha256 = sha256_hex(mapped->data(), mapped->size());
    if (work.record.sha256 == work.known_sha) {
      p.unchanged = true;
      p.work = std::move(work);
      return p;
    }
    auto doc = extract_document(work.record.path, mapped->bytes());
    if (!doc.ok()) {
      p.status = doc.status();
      p.work = std::move(work);
      return p;
    }
    work.record.title = doc->title;
    p.pages = std::move(doc->pages);
  }
  p.t_extract = t.elapsed_s();
  t.reset();
  normalize_pages(p.pages);
  p.t_normalize = t.elapsed_s();
  t.reset();
  if (encode != nullptr) {
    p.chunks = chunk_pages_encoded(p.pages, chunker, *encode);
  } else {
    p.chunks.chunks = chunk_pages(p.pages, chunker, estimate_tokens);
  }
  p.t_chunk = t.elapsed_s();
  work.record.pages = static_cast<int64_t>(p.pages.size());
  work.record.page_starts = page_starts(p.pages);
  p.work = std::move(work);
  return p;
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 1 && name[0] == '.';
}

}  // namespace

IndexPipeline::IndexPipeline(index::Store& store, engine::Embedder* embedder,
                             PipelineOptions options)
    : store_(store), embedder_(embedder), options_(std::move(options)) {}

Status IndexPipeline::prepare_model(bool& reprocess_all) {
  reprocess_all = options_.reembed;
  QUIRE_ASSIGN_OR_RETURN(auto recorded, store_.embedding_model());
  if (embedder_ == nullptr) {
    if (recorded) {
      return failed_precondition_error(
          "this index was built with the embedding model '" + recorded->name +
          "'; pass the same model with --embed-model (or use a new --db for a BM25-only index)");
    }
    return ok_status();
  }
  QUIRE_ASSIGN_OR_RETURN(std::string fingerprint, embedder_->fingerprint());
  index::EmbeddingModelInfo model{embedder_->name(), embedder_->dim(), fingerprint};
  QUIRE_ASSIGN_OR_RETURN(auto documents, store_.list_documents());
  // A BM25-only index gaining a model: every document needs its vectors.
  if (!recorded && !documents.empty()) reprocess_all = true;
  return store_.set_embedding_model(model, options_.reembed);
}

namespace {

// Runs the work list through extraction (second thread) and embedding + writing (this thread).
Status run_work(std::vector<Work> work, index::Store& store, engine::Embedder* embedder,
                const PipelineOptions& options, IndexSummary& summary) {
  TokenEncoder encode;
  if (embedder != nullptr) {
    const engine::Tokenizer& tokenizer = embedder->tokenizer();
    encode = [&tokenizer](std::string_view text) {
      return tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/false);
    };
  }
  const TokenEncoder* encoder = embedder != nullptr ? &encode : nullptr;
  Timer timer;
  PreparedQueue queue(4);
  std::thread producer([&] {
    for (auto& w : work) queue.push(prepare(std::move(w), options.chunker, encoder));
    queue.close();
  });
  Status status;
  IndexProgress progress;
  progress.files_total = static_cast<int64_t>(work.size());
  int64_t since_flush = 0;
  while (auto p = queue.pop()) {
    summary.stages.extract += p->t_extract;
    summary.stages.normalize += p->t_normalize;
    summary.stages.chunk += p->t_chunk;
    index::DocumentRecord& record = p->work.record;
    progress.current = record.path;
    if (p->unchanged) {
      ++summary.unchanged;
      progress.outcome = IndexOutcome::kUnchanged;
      progress.error.clear();
    } else if (!p->status.ok()) {
      record.status = "failed";
      record.error = p->status.message();
      Status s = store.put_failure(record);
      if (!s.ok()) {
        status = s;
        break;
      }
      ++summary.failed;
      summary.failures.emplace_back(record.path, record.error);
      progress.outcome = IndexOutcome::kFailed;
      progress.error = record.error;
    } else {
      const std::vector<index::ChunkRecord>& chunks = p->chunks.chunks;
      std::vector<std::vector<float>> vectors;
      if (embedder != nullptr && !chunks.empty()) {
        Timer t;
        auto embedded = embedder->embed_tokens(p->chunks.token_ids);
        if (!embedded.ok()) {
          status = embedded.status().with_context("embedding '" + record.path + "'");
          break;
        }
        vectors = std::move(embedded).value();
        summary.stages.embed += t.elapsed_s();
      }
      crash_point("before-put");  // tests: killed after embedding, before the commit
      Timer t;
      record.status = "indexed";
      record.error.clear();
      auto id = store.put_document(record, chunks, vectors);
      summary.stages.write += t.elapsed_s();
      if (!id.ok()) {
        status = id.status().with_context("storing '" + record.path + "'");
        break;
      }
      crash_point("after-put");  // tests: committed but not yet reported
      ++summary.indexed;
      summary.pages += record.pages;
      summary.chunks += static_cast<int64_t>(chunks.size());
      progress.pages += record.pages;
      progress.chunks += static_cast<int64_t>(chunks.size());
      progress.outcome = IndexOutcome::kIndexed;
      progress.error.clear();
      if (++since_flush >= options.flush_every_documents) {
        Timer tf;
        status = store.flush();
        summary.stages.write += tf.elapsed_s();
        if (!status.ok()) break;
        since_flush = 0;
      }
    }
    ++progress.files_done;
    progress.seconds = timer.elapsed_s();
    if (options.on_progress) options.on_progress(progress);
  }
  queue.cancel();
  // Drain so the producer can finish if we stopped early.
  while (queue.pop()) {
  }
  producer.join();
  if (!status.ok()) return status;
  Timer tf;
  QUIRE_RETURN_IF_ERROR(store.flush());
  summary.stages.write += tf.elapsed_s();
  return ok_status();
}

}  // namespace

Result<IndexSummary> IndexPipeline::index_paths(const std::vector<std::string>& roots) {
  Timer timer;
  IndexSummary summary;
  bool reprocess_all = false;
  QUIRE_RETURN_IF_ERROR(prepare_model(reprocess_all));
  summary.dense = embedder_ != nullptr;

  // Walk the roots.
  std::vector<std::string> files;
  std::vector<std::string> canonical_roots;
  for (const auto& root : roots) {
    const std::string croot = canonical_path(root);
    std::error_code ec;
    if (!fs::exists(croot, ec)) return not_found_error("'" + root + "' does not exist");
    canonical_roots.push_back(croot);
    if (fs::is_regular_file(croot, ec)) {
      if (source_kind(croot) == SourceKind::kUnsupported) {
        ++summary.unsupported;
      } else {
        files.push_back(croot);
      }
      continue;
    }
    fs::recursive_directory_iterator it(croot, fs::directory_options::skip_permission_denied, ec);
    if (ec) return errno_error(ec.value(), "cannot read directory '" + root + "'");
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (is_hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      const std::string path = it->path().lexically_normal().string();
      if (source_kind(path) == SourceKind::kUnsupported) {
        ++summary.unsupported;
      } else {
        files.push_back(path);
      }
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  summary.files_seen = static_cast<int64_t>(files.size());

  // Removed files: records under the roots whose files are gone.
  QUIRE_ASSIGN_OR_RETURN(auto documents, store_.list_documents());
  std::unordered_map<std::string, index::DocumentRecord> known;
  for (auto& d : documents) known.emplace(d.path, d);
  for (const auto& [path, doc] : known) {
    bool under = false;
    for (const auto& r : canonical_roots) {
      under = under || path == r || path.rfind(r + "/", 0) == 0;
    }
    std::error_code ec;
    if (under && !fs::exists(path, ec)) {
      QUIRE_RETURN_IF_ERROR(store_.remove_document(doc.id));
      ++summary.removed;
      if (options_.on_progress) {
        IndexProgress p;
        p.current = path;
        p.outcome = IndexOutcome::kRemoved;
        options_.on_progress(p);
      }
    }
  }

  // New or changed files.
  std::vector<Work> work;
  for (const auto& path : files) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    Work w;
    w.record.path = path;
    w.record.size = st.st_size;
    w.record.mtime = st.st_mtim.tv_sec;
    auto it = known.find(path);
    if (it != known.end() && !reprocess_all) {
      const auto& d = it->second;
      // Indexed before page offsets were recorded (schema 3): redo it once to record them.
      const bool lacks_pages = d.status == "indexed" && d.pages > 0 && d.page_starts.empty();
      if (lacks_pages) {
        work.push_back(std::move(w));
        continue;
      }
      if (d.size == w.record.size && d.mtime == w.record.mtime) {
        ++summary.unchanged;
        continue;
      }
      // A failed file is retried when it changes; a stored hash lets an identical file pass.
      if (d.status == "indexed") w.known_sha = d.sha256;
    }
    work.push_back(std::move(w));
  }
  QUIRE_RETURN_IF_ERROR(run_work(std::move(work), store_, embedder_, options_, summary));
  summary.seconds = timer.elapsed_s();
  return summary;
}

Result<IndexSummary> IndexPipeline::index_texts(const std::vector<TextDocument>& docs) {
  Timer timer;
  IndexSummary summary;
  bool reprocess_all = false;
  QUIRE_RETURN_IF_ERROR(prepare_model(reprocess_all));
  summary.dense = embedder_ != nullptr;
  QUIRE_ASSIGN_OR_RETURN(auto documents, store_.list_documents());
  std::unordered_map<std::string, std::string> known;
  for (auto& d : documents) {
    // Indexed before page offsets were recorded (schema 3): redone once to record them.
    const bool lacks_pages = d.pages > 0 && d.page_starts.empty();
    if (d.status == "indexed" && !lacks_pages) known.emplace(d.path, d.sha256);
  }
  std::vector<Work> work;
  for (const auto& d : docs) {
    Work w;
    w.record.path = d.key;
    w.record.size = static_cast<int64_t>(d.title.size() + d.text.size());
    w.text = d;
    if (!reprocess_all) {
      auto it = known.find(d.key);
      if (it != known.end()) w.known_sha = it->second;
    }
    work.push_back(std::move(w));
  }
  summary.files_seen = static_cast<int64_t>(docs.size());
  QUIRE_RETURN_IF_ERROR(run_work(std::move(work), store_, embedder_, options_, summary));
  summary.seconds = timer.elapsed_s();
  return summary;
}

}  // namespace quire::ingest
