// Answering a question over the index: retrieve, decide whether the sources can answer, pack
// the sources, then either generate a cited answer with the decoder (generative mode) or pick
// the sentences that answer it (extractive mode, without a generation model). The pipeline of
// `quire ask`, `quire batch` and the server's /v1/ask.
//
// Thread-safety: an Answerer is used by one thread at a time (its Generator is single-threaded);
// the Store and Embedder it points at, and its query-embedding cache, may be shared with other
// threads (and other Answerers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/generator.h"
#include "engine/runtime/reranker.h"
#include "generate/citation_guard.h"
#include "generate/decline.h"
#include "generate/extractive.h"
#include "generate/rag_prompt.h"
#include "index/search_filter.h"
#include "retrieve/context_pack.h"
#include "retrieve/query_cache.h"
#include "retrieve/retriever.h"

namespace quire::generate {

struct AskOptions {
  retrieve::SearchMode mode = retrieve::SearchMode::kHybrid;
  int64_t k = 10;           // chunks retrieved for packing
  int64_t candidates = 50;  // per list before fusion
  // Only documents passing the filter are searched, packed and cited, and the decline decision
  // ("not in the sources") looks at them only.
  index::SearchFilter filter;
  std::optional<double> mmr_lambda;  // MMR's λ in [0,1] (retrieve/mmr.h); off when empty
  int64_t mmr_pool = 50;             // fused candidates MMR picks the k chunks from
  // Cross-encoder re-scoring of the first rerank_top_n fused chunks (retrieve/rerank.h); off
  // when null. Not owned.
  engine::Reranker* reranker = nullptr;
  int64_t rerank_top_n = 30;
  int64_t budget_tokens = 2000;  // context for the sources, in the generation model's tokens
  int max_sources = 8;
  DeclineOptions decline;
  ExtractOptions extract;
  // Generative mode.
  engine::SamplingParams sampling = greedy();
  int64_t max_tokens = 512;
  bool citation_guard = true;
  std::vector<std::pair<engine::TokenId, float>> logit_bias;  // GenerationRequest::logit_bias
  // A further rule on the answer's tokens (a grammar), applied before the citation guard. A
  // constraint holds one sequence's state: give a fresh one to every ask.
  std::shared_ptr<engine::TokenConstraint> constraint;
  const RagPromptTemplate* prompt = nullptr;  // nullptr: the built-in template
  engine::ChatPromptOptions chat;

  static engine::SamplingParams greedy() {
    engine::SamplingParams p;
    p.temperature = 0;
    return p;
  }
};

struct Citation {
  int n = 0;
  int64_t doc_id = 0;
  std::string path;
  std::string title;
  int64_t page_start = 0;
  int64_t page_end = 0;
  std::vector<int64_t> chunk_ids;
  int64_t char_start = 0;  // the cited text: the extracted span, or the source
  int64_t char_end = 0;
  std::string snippet;
  double score = 0;
  double support = 1;  // generate/support.h: the weakest backing of a sentence citing it
  bool weak = false;   // support below kWeakSupport
};

// Seconds per stage. retrieve_s is the whole retrieval; embed_s .. mmr_s are its stages
// (retrieve::SearchTimings), 0 for stages that did not run.
struct AnswerTimings {
  double embed_s = 0;
  bool embed_cached = false;  // the query embedding came from the cache
  double dense_s = 0;
  double bm25_s = 0;
  double fusion_s = 0;
  double rerank_s = 0;
  double mmr_s = 0;
  double retrieve_s = 0;
  double decline_s = 0;
  double pack_s = 0;
  double prefill_s = 0;
  double decode_s = 0;
  double total_s = 0;
};

struct Answer {
  std::string mode;  // "generative", "extractive", "declined"
  std::string text;
  std::string decline_reason;
  DeclineDecision decline;  // the "not in the sources" test, whatever it decided
  retrieve::SearchMode search_mode = retrieve::SearchMode::kBm25;  // what retrieval ran
  std::vector<Citation> citations;     // distinct sources cited, in order of first use
  std::vector<int> invalid_citations;  // numbers the answer used that point at no source
  std::vector<retrieve::PackedSource>
      sources;         // everything packed (the closest ones when declined)
  std::string prompt;  // the rendered prompt (generative mode)
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double decode_tok_s = 0;
  double prefill_tok_s = 0;
  int64_t guard_masked_steps = 0;
  AnswerTimings timings;
};

class Answerer {
 public:
  // `embedder` may be nullptr (BM25 only); `model` and `generator` both nullptr select the
  // extractive mode. Nothing is owned; all must outlive the Answerer. `query_cache` keeps query
  // embeddings across ask() calls (share one between Answerers of a server); nullptr: the
  // Answerer makes its own of the default capacity.
  Answerer(index::Store& store, engine::Embedder* embedder, const engine::LanguageModel* model,
           engine::Generator* generator,
           std::shared_ptr<retrieve::QueryEmbeddingCache> query_cache = nullptr);

  bool generative() const { return generator_ != nullptr; }
  const retrieve::QueryEmbeddingCache& query_cache() const { return *query_cache_; }

  // kInvalidArgument for an empty question; kResourceExhausted when the best source does not
  // fit the budget or the prompt does not fit the context. on_text streams generated text
  // (return false to stop).
  Result<Answer> ask(const std::string& question, const AskOptions& options,
                     const std::function<bool(std::string_view)>& on_text = {});

 private:
  Result<DeclineDecision> decide(const std::string& question, const AskOptions& options);
  Status check_support(Answer& answer);
  int64_t source_tokens(const retrieve::PackedSource& s, const RagPromptTemplate& t) const;

  index::Store& store_;
  engine::Embedder* embedder_;
  const engine::LanguageModel* model_;
  engine::Generator* generator_;
  std::shared_ptr<retrieve::QueryEmbeddingCache> query_cache_;
  retrieve::Retriever retriever_;
  std::shared_ptr<const TokenPieces> pieces_;  // for the citation guard, built on first use
};

}  // namespace quire::generate
