#include "api/index_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "api/cli_args.h"
#include "api/workspace.h"
#include "engine/runtime/embedder.h"
#include "index/store.h"
#include "ingest/pipeline.h"
#include "retrieve/eval.h"
#include "retrieve/rerank.h"
#include "retrieve/retriever.h"

namespace quire::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string one_line(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    s = s.substr(0, cut) + "...";
  }
  return s;
}

// Progress on a terminal: one line rewritten in place; otherwise one plain line per file.
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressPrinter() {
    if (tty_ && drawn_) std::fprintf(stderr, "\n");
  }
  void operator()(const ingest::IndexProgress& p) {
    if (p.outcome == ingest::IndexOutcome::kRemoved) {
      clear();
      std::fprintf(stderr, "removed   %s\n", p.current.c_str());
      return;
    }
    if (!tty_) {
      const std::string outcome = p.outcome == ingest::IndexOutcome::kFailed
                                      ? "failed: " + p.error
                                      : ingest::outcome_name(p.outcome);
      std::fprintf(stderr, "[%lld/%lld] %s %s\n", static_cast<long long>(p.files_done),
                   static_cast<long long>(p.files_total), outcome.c_str(), p.current.c_str());
      return;
    }
    if (p.outcome == ingest::IndexOutcome::kFailed) {
      clear();
      std::fprintf(stderr, "failed    %s: %s\n", p.current.c_str(), p.error.c_str());
    }
    const double rate = p.seconds > 0 ? static_cast<double>(p.files_done) / p.seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(p.files_total - p.files_done) / rate : 0;
    std::fprintf(stderr,
                 "\r\033[Kfiles %lld/%lld  pages %lld  chunks %lld  %.1f files/s  ETA %.0fs  %s",
                 static_cast<long long>(p.files_done), static_cast<long long>(p.files_total),
                 static_cast<long long>(p.pages), static_cast<long long>(p.chunks), rate, eta,
                 one_line(fs::path(p.current).filename().string(), 40).c_str());
    drawn_ = true;
  }

 private:
  void clear() {
    if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
  }
  bool tty_;
  bool drawn_ = false;
};

void print_summary(const ingest::IndexSummary& s) {
  std::fprintf(stderr,
               "indexed %lld, unchanged %lld, removed %lld, failed %lld (of %lld files; %lld "
               "unsupported skipped): %lld pages, %lld chunks in %.2f s (%s)\n",
               static_cast<long long>(s.indexed), static_cast<long long>(s.unchanged),
               static_cast<long long>(s.removed), static_cast<long long>(s.failed),
               static_cast<long long>(s.files_seen), static_cast<long long>(s.unsupported),
               static_cast<long long>(s.pages), static_cast<long long>(s.chunks), s.seconds,
               s.dense ? "BM25 + dense vectors" : "BM25 only: no embedding model");
  for (const auto& [path, why] : s.failures) {
    std::fprintf(stderr, "  failed: %s: %s\n", path.c_str(), why.c_str());
  }
}

}  // namespace

Status run_index_command(std::span<const std::string> args) {
  std::string db = default_workspace_dir(), model, chunk_text, overlap_text, kind, threads_text;
  bool reembed = false, watch = false;
  ArgParser parser("quire index",
                   "Indexes PDFs, .txt, .md and .html files under PATH... (recursively):\n"
                   "extract, chunk, embed (with --embed-model), store. Re-runs touch only new and\n"
                   "changed files and remove deleted ones.");
  parser.add_option("db", &db, "DIR", "index directory (default " + default_workspace_dir() + ")");
  parser.add_option("embed-model", &model, "M.gguf",
                    "embedding model (default: the one that built this index; none: BM25 only)");
  parser.add_option("chunk-tokens", &chunk_text, "N", "target tokens per chunk (default 256)");
  parser.add_option("overlap", &overlap_text, "N",
                    "tokens shared by consecutive chunks (default 32)");
  parser.add_option("index", &kind, "flat|hnsw",
                    "vector index kind for a new index (default flat)");
  parser.add_option("threads", &threads_text, "N", "threads (default: all CPUs)");
  parser.add_flag("reembed", &reembed, "re-embed everything (after changing the model)");
  parser.add_flag("watch", &watch, "keep running and re-index when files change");
  std::vector<std::string> option_args, paths;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0 || args[i] == "-h") {
      option_args.push_back(args[i]);
      const bool flag = args[i] == "--reembed" || args[i] == "--watch" || args[i] == "--help" ||
                        args[i] == "-h" || args[i].find('=') != std::string::npos;
      if (!flag && i + 1 < args.size()) option_args.push_back(args[++i]);
    } else {
      paths.push_back(args[i]);
    }
  }
  QUIRE_RETURN_IF_ERROR(parser.parse(option_args));
  if (parser.help_requested()) {
    std::cout << parser.help() << "  PATH...               files or folders to index\n";
    return ok_status();
  }
  if (paths.empty()) return invalid_argument_error("missing PATH... for quire index (see --help)");
  WorkspaceFlags flags;
  flags.dir = db;
  flags.embed_model = model;
  flags.index_kind = kind;
  if (!chunk_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(uint64_t n, parse_uint(chunk_text, "--chunk-tokens"));
    flags.chunk_tokens = static_cast<int64_t>(std::min<uint64_t>(n, INT64_MAX));
  }
  if (!overlap_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(uint64_t n, parse_uint(overlap_text, "--overlap"));
    flags.chunk_overlap = static_cast<int64_t>(std::min<uint64_t>(n, INT64_MAX));
  }
  QUIRE_ASSIGN_OR_RETURN(const Workspace workspace, Workspace::load(flags));
  ingest::PipelineOptions options;
  options.chunker.target_tokens = workspace.config().chunk_tokens;
  options.chunker.overlap_tokens = workspace.config().chunk_overlap;
  options.reembed = reembed;
  QUIRE_ASSIGN_OR_RETURN(int threads, parse_threads(threads_text));
  QUIRE_RETURN_IF_ERROR(workspace.create_dir());
  QUIRE_ASSIGN_OR_RETURN(OpenedIndex o, workspace.open_index(/*with_embedder=*/true, threads));
  if (!model.empty()) QUIRE_RETURN_IF_ERROR(workspace.remember_embed_model(model));
  ProgressPrinter printer;
  options.on_progress = [&printer](const ingest::IndexProgress& p) { printer(p); };
  ingest::IndexPipeline pipeline(*o.store, o.embedder.get(), options);
  QUIRE_ASSIGN_OR_RETURN(ingest::IndexSummary summary, pipeline.index_paths(paths));
  print_summary(summary);
  while (watch) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    QUIRE_ASSIGN_OR_RETURN(summary, pipeline.index_paths(paths));
    if (summary.indexed + summary.removed + summary.failed > 0) print_summary(summary);
  }
  return ok_status();
}

Status run_search_command(std::span<const std::string> args) {
  std::string query, db = default_workspace_dir(), k_text = "10", mode_text = "hybrid", model;
  bool as_json = false;
  ArgParser parser("quire search",
                   "Searches the index: ranked chunks with document, pages, score.");
  parser.add_positional("QUERY", &query, "what to look for");
  parser.add_option("db", &db, "DIR", "index directory");
  parser.add_option("k", &k_text, "N", "results (default 10)");
  parser.add_option("mode", &mode_text, "MODE", "hybrid (default), dense or bm25");
  parser.add_option("embed-model", &model, "M.gguf", "embedding model (default: the index's)");
  parser.add_flag("json", &as_json, "print JSON");
  QUIRE_RETURN_IF_ERROR(parser.parse(args));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  QUIRE_ASSIGN_OR_RETURN(const auto mode, parse_search_mode(mode_text));
  QUIRE_ASSIGN_OR_RETURN(uint64_t k, parse_uint(k_text, "--k"));
  if (k == 0 || k > 1000) return invalid_argument_error("--k: expected 1..1000");
  WorkspaceFlags flags;
  flags.dir = db;
  flags.embed_model = model;
  QUIRE_ASSIGN_OR_RETURN(const Workspace workspace, Workspace::load(flags));
  if (!workspace.index_exists())
    return not_found_error("no index at '" + db + "' (run quire index)");
  QUIRE_ASSIGN_OR_RETURN(OpenedIndex o, workspace.open_index(mode != retrieve::SearchMode::kBm25));
  QUIRE_RETURN_IF_ERROR(workspace.check_query_model(o));
  retrieve::Retriever retriever(*o.store, o.embedder.get());
  retrieve::SearchOptions options;
  options.k = static_cast<int64_t>(k);
  options.mode = mode;
  const retrieve::SearchMode used = retriever.effective_mode(mode);
  if (mode == retrieve::SearchMode::kDense && used == retrieve::SearchMode::kDense &&
      o.embedder == nullptr) {
    return failed_precondition_error("dense search needs an embedding model: this index has none");
  }
  QUIRE_ASSIGN_OR_RETURN(auto results, retriever.search(query, options));
  if (as_json) {
    json out = {{"query", query}, {"mode", std::string(retrieve::search_mode_name(used))}};
    json rows = json::array();
    for (const auto& r : results) {
      rows.push_back({{"chunk_id", r.chunk.id},
                      {"document_id", r.document.id},
                      {"path", r.document.path},
                      {"title", r.document.title},
                      {"page_start", r.chunk.page_start},
                      {"page_end", r.chunk.page_end},
                      {"score", r.score},
                      {"text", r.chunk.text}});
    }
    out["results"] = rows;
    std::cout << out.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    return ok_status();
  }
  if (used != mode) {
    std::fprintf(stderr, "quire: searching with %s: the index has no vectors or no model\n",
                 std::string(retrieve::search_mode_name(used)).c_str());
  }
  int rank = 0;
  for (const auto& r : results) {
    const std::string pages =
        r.chunk.page_start == r.chunk.page_end
            ? "p. " + std::to_string(r.chunk.page_start)
            : "pp. " + std::to_string(r.chunk.page_start) + "-" + std::to_string(r.chunk.page_end);
    std::printf("%2d. %.4f  %s (%s)\n    %s\n", ++rank, r.score, r.document.path.c_str(),
                pages.c_str(), one_line(r.chunk.text, 220).c_str());
  }
  if (results.empty()) std::printf("no results\n");
  return ok_status();
}

Status run_docs_command(std::span<const std::string> args) {
  std::string db = default_workspace_dir();
  bool as_json = false;
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: quire docs list|show ID|rm ID [--db DIR] [--json]\n";
    return args.empty() ? invalid_argument_error("missing subcommand for quire docs") : ok_status();
  }
  const std::string sub = args[0];
  std::string id_text;
  ArgParser parser("quire docs " + sub, "Lists, shows or removes indexed documents.");
  if (sub == "show" || sub == "rm") parser.add_positional("ID", &id_text, "document id");
  parser.add_option("db", &db, "DIR", "index directory");
  parser.add_flag("json", &as_json, "print JSON");
  if (sub != "list" && sub != "show" && sub != "rm") {
    return invalid_argument_error("unknown subcommand 'quire docs " + sub + "' (list, show, rm)");
  }
  QUIRE_RETURN_IF_ERROR(parser.parse(args.subspan(1)));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  WorkspaceFlags flags;
  flags.dir = db;
  QUIRE_ASSIGN_OR_RETURN(const Workspace workspace, Workspace::load(flags));
  if (!workspace.index_exists()) return not_found_error("no index at '" + db + "'");
  QUIRE_ASSIGN_OR_RETURN(OpenedIndex opened, workspace.open_index(/*with_embedder=*/false));
  index::Store* store = opened.store.get();
  if (sub == "list") {
    QUIRE_ASSIGN_OR_RETURN(auto docs, store->list_documents());
    json rows = json::array();
    for (const auto& d : docs) {
      if (as_json) {
        rows.push_back({{"id", d.id},
                        {"path", d.path},
                        {"title", d.title},
                        {"pages", d.pages},
                        {"status", d.status},
                        {"error", d.error},
                        {"sha256", d.sha256}});
      } else {
        std::printf("%5lld  %-7s %4lld p.  %s%s\n", static_cast<long long>(d.id), d.status.c_str(),
                    static_cast<long long>(d.pages), d.path.c_str(),
                    d.error.empty() ? "" : ("  (" + d.error + ")").c_str());
      }
    }
    if (as_json) std::cout << rows.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    return ok_status();
  }
  QUIRE_ASSIGN_OR_RETURN(uint64_t id, parse_uint(id_text, "ID"));
  QUIRE_ASSIGN_OR_RETURN(auto doc, store->get_document(static_cast<int64_t>(id)));
  if (!doc) return not_found_error("no document with id " + id_text);
  if (sub == "rm") {
    QUIRE_RETURN_IF_ERROR(store->remove_document(doc->id));
    QUIRE_RETURN_IF_ERROR(store->flush());
    std::printf("removed %lld %s\n", static_cast<long long>(doc->id), doc->path.c_str());
    return ok_status();
  }
  QUIRE_ASSIGN_OR_RETURN(auto chunks, store->chunks_of(doc->id));
  if (as_json) {
    json j = {{"id", doc->id},         {"path", doc->path},      {"title", doc->title},
              {"pages", doc->pages},   {"status", doc->status},  {"error", doc->error},
              {"sha256", doc->sha256}, {"chunks", chunks.size()}};
    std::cout << j.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
    return ok_status();
  }
  std::printf(
      "id       %lld\npath     %s\ntitle    %s\npages    %lld\nstatus   %s%s\nsha256   %s\nchunks  "
      " %zu\n",
      static_cast<long long>(doc->id), doc->path.c_str(), doc->title.c_str(),
      static_cast<long long>(doc->pages), doc->status.c_str(),
      doc->error.empty() ? "" : (" (" + doc->error + ")").c_str(), doc->sha256.c_str(),
      chunks.size());
  for (const auto& c : chunks) {
    std::printf("  #%lld p.%lld-%lld %lld tokens: %s\n", static_cast<long long>(c.ord),
                static_cast<long long>(c.page_start), static_cast<long long>(c.page_end),
                static_cast<long long>(c.n_tokens), one_line(c.text, 100).c_str());
  }
  return ok_status();
}

Status run_eval_command(std::span<const std::string> args) {
  if (args.empty() || args[0] != "beir") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::cout << "usage: quire eval beir DIR [--db DIR] [--mode hybrid|dense|bm25] [--split S] "
                   "[--embed-model M] [--rerank-model M] [--mmr L] [--json]\n";
      return ok_status();
    }
    return invalid_argument_error("usage: quire eval beir DIR [options]");
  }
  std::string dir, db, mode_text = "hybrid", split = "test", model, threads_text,
                       chunk_text = "512", mmr_text, rerank_model;
  bool as_json = false;
  ArgParser parser("quire eval beir",
                   "Indexes a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) if\n"
                   "needed and prints nDCG@10, Recall@10, Recall@100 and MRR@10, and the\n"
                   "median milliseconds per query of each retrieval stage.");
  parser.add_positional("DIR", &dir, "BEIR dataset folder");
  parser.add_option("db", &db, "DIR", "index directory (default: <DIR's name> under the data dir)");
  parser.add_option("mode", &mode_text, "MODE", "hybrid (default), dense or bm25");
  parser.add_option("split", &split, "S", "qrels split: test (default), train, dev");
  parser.add_option("embed-model", &model, "M.gguf", "embedding model (needed for dense/hybrid)");
  parser.add_option("rerank-model", &rerank_model, "M.gguf",
                    "re-score each query's first 30 chunks with this cross-encoder");
  parser.add_option("mmr", &mmr_text, "L",
                    "re-rank with MMR, lambda in [0,1] (1: relevance only; default off)");
  parser.add_option("chunk-tokens", &chunk_text, "N",
                    "chunk size (default 512: ~ one per abstract)");
  parser.add_option("threads", &threads_text, "N", "threads");
  parser.add_flag("json", &as_json, "print JSON");
  QUIRE_RETURN_IF_ERROR(parser.parse(args.subspan(1)));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  QUIRE_ASSIGN_OR_RETURN(const auto mode, parse_search_mode(mode_text));
  if (mode != retrieve::SearchMode::kBm25 && model.empty()) {
    return invalid_argument_error("--mode " + mode_text +
                                  " needs --embed-model (or use --mode bm25)");
  }
  QUIRE_ASSIGN_OR_RETURN(const std::optional<double> mmr_lambda, parse_mmr_lambda(mmr_text));
  QUIRE_ASSIGN_OR_RETURN(uint64_t chunk_tokens, parse_uint(chunk_text, "--chunk-tokens"));
  QUIRE_ASSIGN_OR_RETURN(int threads, parse_threads(threads_text));
  QUIRE_ASSIGN_OR_RETURN(auto corpus, retrieve::load_beir_corpus(dir));
  QUIRE_ASSIGN_OR_RETURN(auto queries, retrieve::load_beir_queries(dir));
  QUIRE_ASSIGN_OR_RETURN(auto qrels, retrieve::load_beir_qrels(dir, split));
  if (db.empty()) {
    const std::string name = fs::path(fs::absolute(dir).lexically_normal()).filename().string();
    db = default_workspace_dir() + "/eval-" + name +
         (model.empty() ? "-bm25" : "-" + fs::path(model).stem().string());
  }
  WorkspaceFlags flags;
  flags.dir = db;
  flags.embed_model = model;
  flags.chunk_tokens = static_cast<int64_t>(std::min<uint64_t>(chunk_tokens, INT64_MAX));
  flags.chunk_overlap = std::min<int64_t>(32, flags.chunk_tokens / 4);
  QUIRE_ASSIGN_OR_RETURN(const Workspace workspace, Workspace::load(flags));
  QUIRE_RETURN_IF_ERROR(workspace.create_dir());
  QUIRE_ASSIGN_OR_RETURN(OpenedIndex o, workspace.open_index(!model.empty(), threads));
  ingest::PipelineOptions options;
  options.chunker.target_tokens = workspace.config().chunk_tokens;
  options.chunker.overlap_tokens = workspace.config().chunk_overlap;
  options.flush_every_documents = 1000000;
  ingest::IndexPipeline pipeline(*o.store, o.embedder.get(), options);
  std::vector<ingest::TextDocument> docs;
  for (const auto& d : corpus) docs.push_back({"beir:" + d.id, d.title, d.text});
  QUIRE_ASSIGN_OR_RETURN(ingest::IndexSummary summary, pipeline.index_texts(docs));
  if (summary.indexed > 0) print_summary(summary);

  retrieve::Retriever retriever(*o.store, o.embedder.get());
  retrieve::SearchOptions search;
  search.k = 300;  // chunks; documents are ranked by their best chunk, top 100 kept
  search.candidates = 300;
  search.mode = mode;
  search.mmr_lambda = mmr_lambda;
  search.mmr_pool = 300;  // MMR re-orders the whole candidate list
  std::unique_ptr<engine::Reranker> reranker;
  if (!rerank_model.empty()) {
    engine::RerankerOptions ro;
    ro.threads = threads;
    QUIRE_ASSIGN_OR_RETURN(reranker, engine::open_reranker(rerank_model, ro));
    search.rerank = retrieve::cross_encoder_hook(*o.store, *reranker, 30);
    search.rerank_top_n = 300;
  }
  retrieve::MetricsAccumulator acc;
  retrieve::SearchTimingsAccumulator stages;
  std::unordered_map<int64_t, std::string> doc_key;  // chunk id -> beir id cache
  int64_t evaluated = 0;
  for (const auto& q : queries) {
    auto judged = qrels.find(q.id);
    if (judged == qrels.end()) continue;
    retrieve::SearchTimings timings;
    QUIRE_ASSIGN_OR_RETURN(auto results, retriever.search(q.text, search, &timings));
    stages.add(timings);
    std::vector<std::string> ranked;
    for (const auto& r : results) {
      const std::string key =
          r.document.path.rfind("beir:", 0) == 0 ? r.document.path.substr(5) : r.document.path;
      ranked.push_back(key);
      if (ranked.size() >= 100 * 4) break;
    }
    acc.add(judged->second, ranked);
    ++evaluated;
  }
  const retrieve::RetrievalMetrics m = acc.result();
  json out = {{"dataset", dir},
              {"split", split},
              {"mode", std::string(retrieve::search_mode_name(retriever.effective_mode(mode)))},
              {"queries", m.queries},
              {"ndcg@10", m.ndcg_at_10},
              {"recall@10", m.recall_at_10},
              {"recall@100", m.recall_at_100},
              {"mrr@10", m.mrr_at_10}};
  if (mmr_lambda) out["mmr_lambda"] = *mmr_lambda;
  if (!rerank_model.empty()) out["rerank_model"] = rerank_model;
  json median_ms = json::object();
  for (const auto& [name, ms] : stages.medians_ms()) median_ms[name] = ms;
  out["median_ms_per_query"] = median_ms;
  if (as_json) {
    std::cout << out.dump(1) << "\n";
  } else {
    std::printf(
        "%s (%s, %lld queries, mode %s)\n  nDCG@10     %.4f\n  Recall@10   %.4f\n  "
        "Recall@100  %.4f\n  MRR@10      %.4f\n",
        dir.c_str(), split.c_str(), static_cast<long long>(m.queries),
        out["mode"].get<std::string>().c_str(), m.ndcg_at_10, m.recall_at_10, m.recall_at_100,
        m.mrr_at_10);
    std::printf("  median ms per query:");
    for (const auto& [name, ms] : stages.medians_ms()) std::printf(" %s %.2f", name.c_str(), ms);
    std::printf("\n");
  }
  return ok_status();
}

}  // namespace quire::api
