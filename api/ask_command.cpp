#include "api/ask_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/cli_args.h"
#include "api/workspace.h"
#include "generate/answer.h"

namespace quire::api {
namespace {

using nlohmann::json;

json source_json(const retrieve::PackedSource& s) {
  return {{"n", s.number},
          {"doc_id", s.doc_id},
          {"path", s.path},
          {"title", s.title},
          {"page_start", s.page_start},
          {"page_end", s.page_end},
          {"chunk_ids", s.chunk_ids},
          {"char_start", s.char_start},
          {"char_end", s.char_end},
          {"score", s.score},
          {"tokens", s.tokens},
          {"text", s.text}};
}

json answer_json(const generate::Answer& a, const std::string& question) {
  json citations = json::array();
  for (const auto& c : a.citations) {
    citations.push_back({{"n", c.n},
                         {"doc_id", c.doc_id},
                         {"path", c.path},
                         {"title", c.title},
                         {"page_start", c.page_start},
                         {"page_end", c.page_end},
                         {"chunk_ids", c.chunk_ids},
                         {"char_start", c.char_start},
                         {"char_end", c.char_end},
                         {"snippet", c.snippet},
                         {"score", c.score},
                         {"support", c.support},
                         {"weak_support", c.weak}});
  }
  json sources = json::array();
  for (const auto& s : a.sources) sources.push_back(source_json(s));
  json j = {{"question", question},
            {"answer", a.text},
            {"mode", a.mode},
            {"search_mode", std::string(retrieve::search_mode_name(a.search_mode))},
            {"citations", citations},
            {"invalid_citations", a.invalid_citations},
            {"sources", sources},
            {"timings",
             {{"embed_s", a.timings.embed_s},
              {"embed_cached", a.timings.embed_cached},
              {"dense_s", a.timings.dense_s},
              {"bm25_s", a.timings.bm25_s},
              {"fusion_s", a.timings.fusion_s},
              {"rerank_s", a.timings.rerank_s},
              {"mmr_s", a.timings.mmr_s},
              {"retrieve_s", a.timings.retrieve_s},
              {"decline_s", a.timings.decline_s},
              {"pack_s", a.timings.pack_s},
              {"prefill_s", a.timings.prefill_s},
              {"decode_s", a.timings.decode_s},
              {"total_s", a.timings.total_s}}}};
  if (a.mode == "declined") j["decline_reason"] = a.decline_reason;
  j["decline_check"] = {{"declined", a.decline.declined},
                        {"absent_names", a.decline.absent_names},
                        {"best_bm25", a.decline.best_bm25},
                        {"evidence", a.decline.evidence}};
  if (a.mode == "generative") {
    j["prompt_tokens"] = a.prompt_tokens;
    j["generated_tokens"] = a.generated_tokens;
    j["prefill_tok_s"] = a.prefill_tok_s;
    j["decode_tok_s"] = a.decode_tok_s;
  }
  return j;
}

std::string source_line(const retrieve::PackedSource& s) {
  const std::string file = std::filesystem::path(s.path).filename().string();
  std::string line(1, '[');
  line += std::to_string(s.number);
  line += "] ";
  line += s.title.empty() ? file : s.title;
  line += " — ";
  line += file;
  line += ", ";
  line += generate::page_label(s.page_start, s.page_end);
  return line;
}

}  // namespace

Status run_ask_command(std::span<const std::string> args) {
  std::string question, db, llm, embed_model,
      k_text = "10", budget_text = "2000", mode_text = "hybrid", temp_text = "0", seed_text = "0",
      n_text = "512", ctx_text, threads_text, min_score_text, prompt_file, chat_template, mmr_text,
      rerank_model;
  std::vector<std::string> filter_docs, filter_paths;
  bool as_json = false, verbose = false, no_guard = false, no_decline = false;
  ArgParser parser("quire ask",
                   "Answers a question from the indexed documents, citing document and page.\n"
                   "With a generation model (--llm, or \"llm\" in the index's config.json) the "
                   "answer is generated;\nwithout one the best sentences are quoted "
                   "(extractive mode).");
  parser.add_positional("QUESTION", &question, "the question");
  parser.add_option("db", &db, "DIR", "index directory (default " + default_workspace_dir() + ")");
  parser.add_option("llm", &llm, "M.gguf",
                    "generation model (default: the workspace's; none: "
                    "extractive)");
  parser.add_option("rerank-model", &rerank_model, "M.gguf",
                    "cross-encoder reranker (default: the workspace's; none: no rerank)");
  parser.add_option("embed-model", &embed_model, "M.gguf",
                    "embedding model (default: the index's)");
  parser.add_option("k", &k_text, "N", "chunks retrieved for the sources (default 10)");
  parser.add_option("budget", &budget_text, "TOKENS",
                    "context tokens for the sources (default 2000)");
  parser.add_option("mode", &mode_text, "MODE", "retrieval: hybrid (default), dense or bm25");
  parser.add_list_option("filter-doc", &filter_docs, "ID",
                         "search only this document (an id of quire docs list)");
  parser.add_list_option("filter-path", &filter_paths, "GLOB",
                         "search only documents whose path matches (* within a folder, ** across)");
  parser.add_option("mmr", &mmr_text, "L",
                    "diversify the sources with MMR, lambda in [0,1] (1: relevance only)");
  parser.add_option("temp", &temp_text, "T", "temperature (default 0: greedy)");
  parser.add_option("seed", &seed_text, "S", "random seed (default 0)");
  parser.add_option("n-predict", &n_text, "N", "answer tokens at most (default 512)");
  parser.add_option("ctx", &ctx_text, "N", "context length (default: the model's, at most 4096)");
  parser.add_option("threads", &threads_text, "N", "threads (default: all CPUs)");
  parser.add_option("min-score", &min_score_text, "X",
                    "decline below this lexical evidence: best BM25 score / the question's "
                    "total idf (default 0.35; 0 turns the test off)");
  parser.add_flag("no-decline", &no_decline, "never decline; always answer from the sources");
  parser.add_flag("no-citation-guard", &no_guard, "let the model cite numbers with no source");
  parser.add_option("prompt-template", &prompt_file, "FILE", "replace the RAG prompt layout");
  parser.add_option("chat-template", &chat_template, "NAME", "a built-in chat template style");
  parser.add_flag("json", &as_json, "print one JSON object");
  parser.add_flag("verbose", &verbose, "print per-stage timings to stderr");
  QUIRE_RETURN_IF_ERROR(parser.parse(args));
  if (parser.help_requested()) {
    std::cout << parser.help();
    return ok_status();
  }
  generate::AskOptions options;
  QUIRE_ASSIGN_OR_RETURN(options.mode, parse_search_mode(mode_text));
  QUIRE_ASSIGN_OR_RETURN(options.filter, parse_search_filter(filter_docs, filter_paths));
  QUIRE_ASSIGN_OR_RETURN(options.mmr_lambda, parse_mmr_lambda(mmr_text));
  QUIRE_ASSIGN_OR_RETURN(const uint64_t k, parse_uint(k_text, "--k"));
  if (k == 0 || k > 200) return invalid_argument_error("--k: expected 1..200");
  options.k = static_cast<int64_t>(k);
  QUIRE_ASSIGN_OR_RETURN(const uint64_t budget, parse_uint(budget_text, "--budget"));
  if (budget == 0 || budget > (1u << 20))
    return invalid_argument_error("--budget: expected 1..1048576");
  options.budget_tokens = static_cast<int64_t>(budget);
  QUIRE_ASSIGN_OR_RETURN(const double temp, parse_double(temp_text, "--temp"));
  options.sampling.temperature = static_cast<float>(temp);
  QUIRE_ASSIGN_OR_RETURN(options.sampling.seed, parse_uint(seed_text, "--seed"));
  QUIRE_RETURN_IF_ERROR(engine::validate_sampling_params(options.sampling));
  QUIRE_ASSIGN_OR_RETURN(options.max_tokens, parse_int(n_text, "-n"));
  if (options.max_tokens < 1) return invalid_argument_error("--n-predict: expected at least 1");
  if (!min_score_text.empty()) {
    QUIRE_ASSIGN_OR_RETURN(options.decline.min_evidence,
                           parse_double(min_score_text, "--min-score"));
  }
  options.decline.enabled = !no_decline;
  options.citation_guard = !no_guard;
  options.chat.template_name = chat_template;
  generate::RagPromptTemplate custom_prompt = generate::RagPromptTemplate::default_template();
  if (!prompt_file.empty()) {
    QUIRE_ASSIGN_OR_RETURN(custom_prompt, generate::RagPromptTemplate::load(prompt_file));
    options.prompt = &custom_prompt;
  }
  QUIRE_ASSIGN_OR_RETURN(const int threads, parse_threads(threads_text));

  WorkspaceFlags flags;
  flags.dir = db;
  flags.embed_model = embed_model;
  flags.llm = llm;
  flags.rerank_model = rerank_model;
  QUIRE_ASSIGN_OR_RETURN(const Workspace workspace, Workspace::load(flags));
  if (!workspace.index_exists()) {
    return not_found_error("no index at '" + workspace.dir() + "' (run quire index)");
  }
  QUIRE_ASSIGN_OR_RETURN(
      OpenedIndex opened,
      workspace.open_index(options.mode != retrieve::SearchMode::kBm25, threads));
  QUIRE_RETURN_IF_ERROR(workspace.check_query_model(opened));
  std::unique_ptr<engine::Reranker> reranker;
  if (!workspace.config().rerank_model.empty()) {
    engine::RerankerOptions ro;
    ro.threads = threads;
    QUIRE_ASSIGN_OR_RETURN(reranker, engine::open_reranker(workspace.config().rerank_model, ro));
    options.reranker = reranker.get();
  }
  std::unique_ptr<engine::LanguageModel> lm;
  std::unique_ptr<engine::Generator> generator;
  if (!workspace.config().llm.empty()) {
    QUIRE_ASSIGN_OR_RETURN(lm, engine::LanguageModel::open(workspace.config().llm));
    engine::GeneratorOptions go;
    go.threads = threads;
    go.cached_sequences = 0;
    QUIRE_ASSIGN_OR_RETURN(go.n_ctx, parse_ctx(ctx_text));
    QUIRE_ASSIGN_OR_RETURN(generator, engine::Generator::create(*lm, go));
  }
  generate::Answerer answerer(*opened.store, opened.embedder.get(), lm.get(), generator.get());
  if (!as_json && !answerer.generative()) {
    std::fprintf(stderr,
                 "quire: extractive mode (no generation model: give --llm M.gguf or set \"llm\" "
                 "in %s/config.json)\n",
                 workspace.dir().c_str());
  }
  auto stream = [&](std::string_view piece) {
    if (!as_json) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  };
  QUIRE_ASSIGN_OR_RETURN(generate::Answer answer, answerer.ask(question, options, stream));
  if (as_json) {
    std::cout << answer_json(answer, question).dump(1, ' ', false, json::error_handler_t::replace)
              << "\n";
  } else {
    std::printf("\n\n%s\n", answer.mode == "declined" ? "Closest sources:" : "Sources:");
    if (answer.mode == "declined") {
      for (size_t i = 0; i < answer.sources.size() && i < 3; ++i) {
        std::printf("  %s\n", source_line(answer.sources[i]).c_str());
      }
      if (answer.sources.empty()) std::printf("  (none)\n");
    } else {
      for (const auto& c : answer.citations) {
        std::printf("  %s\n", source_line(answer.sources[static_cast<size_t>(c.n - 1)]).c_str());
      }
      if (answer.citations.empty()) std::printf("  (the answer cites none)\n");
    }
    if (!answer.invalid_citations.empty()) {
      std::fprintf(stderr, "quire: the answer cites %zu number(s) with no source\n",
                   answer.invalid_citations.size());
    }
  }
  if (verbose) {
    const auto& t = answer.timings;
    std::fprintf(stderr, "mode:              %s (retrieval %s)\n", answer.mode.c_str(),
                 std::string(retrieve::search_mode_name(answer.search_mode)).c_str());
    std::fprintf(stderr, "embed:             %.1f ms%s\n", t.embed_s * 1e3,
                 t.embed_cached ? " (cached)" : "");
    std::fprintf(stderr,
                 "retrieve:          %.1f ms (dense %.1f, bm25 %.1f, fusion %.1f, rerank %.1f, mmr "
                 "%.1f ms)\n",
                 t.retrieve_s * 1e3, t.dense_s * 1e3, t.bm25_s * 1e3, t.fusion_s * 1e3,
                 t.rerank_s * 1e3, t.mmr_s * 1e3);
    std::fprintf(stderr,
                 "decline check:     %.1f ms\n"
                 "pack:              %.1f ms (%zu sources)\n"
                 "prompt eval:       %lld token(s) in %.3f s, %.2f tokens/s\n"
                 "eval:              %lld token(s) in %.3f s, %.2f tokens/s\n"
                 "total:             %.3f s\n",
                 t.decline_s * 1e3, t.pack_s * 1e3, answer.sources.size(),
                 static_cast<long long>(answer.prompt_tokens), t.prefill_s, answer.prefill_tok_s,
                 static_cast<long long>(answer.generated_tokens), t.decode_s, answer.decode_tok_s,
                 t.total_s);
  }
  return ok_status();
}

}  // namespace quire::api
