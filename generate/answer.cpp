#include "generate/answer.h"

#include <algorithm>

#include "engine/core/timer.h"
#include "generate/citations.h"
#include "generate/lexical.h"
#include "generate/support.h"
#include "retrieve/rerank.h"

namespace quire::generate {
namespace {

constexpr size_t kSnippetBytes = 240;

std::string snippet_of(std::string_view text) {
  std::string s(text.substr(0, std::min(text.size(), kSnippetBytes)));
  if (text.size() > kSnippetBytes) {
    size_t cut = s.size();
    while (cut > 0 && (static_cast<unsigned char>(s[cut - 1]) & 0xC0) == 0x80) --cut;  // UTF-8
    if (cut > 0) --cut;
    s.resize(cut);
    s += "...";
  }
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

Citation citation_of(const retrieve::PackedSource& s) {
  Citation c;
  c.n = s.number;
  c.doc_id = s.doc_id;
  c.path = s.path;
  c.title = s.title;
  c.page_start = s.page_start;
  c.page_end = s.page_end;
  c.chunk_ids = s.chunk_ids;
  c.char_start = s.char_start;
  c.char_end = s.char_end;
  c.snippet = snippet_of(s.text);
  c.score = s.score;
  return c;
}

}  // namespace

Answerer::Answerer(index::Store& store, engine::Embedder* embedder,
                   const engine::LanguageModel* model, engine::Generator* generator,
                   std::shared_ptr<retrieve::QueryEmbeddingCache> query_cache)
    : store_(store),
      embedder_(embedder),
      model_(model),
      generator_(generator),
      query_cache_(query_cache != nullptr ? std::move(query_cache)
                                          : std::make_shared<retrieve::QueryEmbeddingCache>()),
      retriever_(store, embedder, query_cache_.get()) {}

Result<DeclineDecision> Answerer::decide(const std::string& question, const AskOptions& options) {
  // The evidence test weighs the question's content words only: in a small folder "how" or
  // "does" may occur nowhere, and their idf would swamp the words that matter. Both tests look
  // at the documents the filter admits only: a name found only in a filtered-out document is
  // absent from the sources, and so is a strong BM25 match there (idf stays the whole index's,
  // as FTS5 weighs terms).
  std::string content;
  for (const std::string& w : content_words(question)) {
    if (!content.empty()) content += ' ';
    content += w;
  }
  if (content.empty()) content = question;
  double best = 0;
  QUIRE_ASSIGN_OR_RETURN(auto top, store_.search_bm25(content, 1, options.filter));
  if (!top.empty()) best = top[0].score;
  QUIRE_ASSIGN_OR_RETURN(const index::TermStats stats, store_.term_stats(content));
  auto occurs = [this, &options](std::string_view text, bool prefix) -> Result<bool> {
    QUIRE_ASSIGN_OR_RETURN(auto hits,
                           store_.search_phrase(std::string(text), 1, options.filter, prefix));
    return !hits.empty();
  };
  return decide_decline(question, best, stats.idf_total(), occurs, options.decline);
}

int64_t Answerer::source_tokens(const retrieve::PackedSource& s, const RagPromptTemplate& t) const {
  const std::string rendered = t.render_source(s);
  if (model_ != nullptr) {
    return static_cast<int64_t>(model_->tokenizer().encode(rendered, false, false).size());
  }
  // Extractive mode has no generation tokenizer: about four bytes a token.
  return static_cast<int64_t>(rendered.size() + 3) / 4;
}

Status Answerer::check_support(Answer& answer) {
  const int n_sources = static_cast<int>(answer.sources.size());
  const std::vector<CitedSentence> sentences = cited_sentences(answer.text, n_sources);
  std::vector<std::string> texts;
  for (const auto& s : answer.sources) texts.push_back(s.text);
  QUIRE_ASSIGN_OR_RETURN(auto scores, support_scores(sentences, texts, embedder_));
  for (Citation& c : answer.citations) {
    for (size_t i = 0; i < sentences.size(); ++i) {
      for (size_t j = 0; j < sentences[i].numbers.size(); ++j) {
        if (sentences[i].numbers[j] == c.n) c.support = std::min(c.support, scores[i][j]);
      }
    }
    c.weak = c.support < kWeakSupport;
  }
  return ok_status();
}

Result<Answer> Answerer::ask(const std::string& question, const AskOptions& options,
                             const std::function<bool(std::string_view)>& on_text) {
  bool blank = true;
  for (char c : question) blank = blank && (c == ' ' || c == '\n' || c == '\t' || c == '\r');
  if (blank) return invalid_argument_error("the question is empty");
  Timer total;
  Answer answer;
  const RagPromptTemplate& prompt =
      options.prompt != nullptr ? *options.prompt : RagPromptTemplate::default_template();

  Timer t;
  retrieve::SearchOptions search;
  search.k = options.k;
  search.candidates = options.candidates;
  search.mode = options.mode;
  search.filter = options.filter;
  search.mmr_lambda = options.mmr_lambda;
  search.mmr_pool = options.mmr_pool;
  if (options.reranker != nullptr) {
    search.rerank = retrieve::cross_encoder_hook(store_, *options.reranker);
    search.rerank_top_n = options.rerank_top_n;
  }
  answer.search_mode = retriever_.effective_mode(options.mode);
  retrieve::SearchTimings stages;
  QUIRE_ASSIGN_OR_RETURN(auto ranked, retriever_.search(question, search, &stages));
  ranked = retrieve::remove_overlapping(std::move(ranked));
  answer.timings.retrieve_s = t.elapsed_s();
  answer.timings.embed_s = stages.embed_s;
  answer.timings.embed_cached = stages.embed_cached;
  answer.timings.dense_s = stages.dense_s;
  answer.timings.bm25_s = stages.bm25_s;
  answer.timings.fusion_s = stages.fusion_s;
  answer.timings.rerank_s = stages.rerank_s;
  answer.timings.mmr_s = stages.mmr_s;

  t = Timer();
  QUIRE_ASSIGN_OR_RETURN(answer.decline, decide(question, options));
  const DeclineDecision& decision = answer.decline;
  answer.timings.decline_s = t.elapsed_s();

  t = Timer();
  retrieve::PackOptions pack;
  pack.budget_tokens = options.budget_tokens;
  pack.max_sources = options.max_sources;
  QUIRE_ASSIGN_OR_RETURN(answer.sources,
                         retrieve::pack_context(ranked, pack, [&](const retrieve::PackedSource& s) {
                           return source_tokens(s, prompt);
                         }));
  answer.timings.pack_s = t.elapsed_s();

  if (decision.declined || answer.sources.empty()) {
    answer.mode = "declined";
    answer.decline_reason =
        decision.declined ? decision.reason : "nothing in the index matches the question";
    answer.text = "The documents do not answer this: " + answer.decline_reason + ".";
    if (on_text) on_text(answer.text);
    answer.timings.total_s = total.elapsed_s();
    return answer;
  }

  if (!generative()) {
    answer.mode = "extractive";
    const ExtractiveAnswer extracted = extract_answer(question, answer.sources, options.extract);
    answer.text = extracted.text;
    for (const ExtractedSpan& span : extracted.spans) {
      const auto& source = answer.sources[static_cast<size_t>(span.source_number - 1)];
      auto it = std::find_if(answer.citations.begin(), answer.citations.end(),
                             [&](const Citation& c) { return c.n == span.source_number; });
      if (it != answer.citations.end()) continue;
      Citation c = citation_of(source);
      c.char_start = span.char_start;
      c.char_end = span.char_end;
      c.snippet = snippet_of(span.text);
      // The pages of the quoted sentence itself, when the document records its page offsets.
      QUIRE_ASSIGN_OR_RETURN(auto doc, store_.get_document(source.doc_id));
      if (doc) {
        const int64_t first = index::page_at(*doc, span.char_start);
        const int64_t last = index::page_at(*doc, std::max(span.char_start, span.char_end - 1));
        if (first > 0 && last >= first) {
          c.page_start = first;
          c.page_end = last;
        }
      }
      answer.citations.push_back(std::move(c));
    }
    QUIRE_RETURN_IF_ERROR(check_support(answer));
    if (on_text) on_text(answer.text);
    answer.timings.total_s = total.elapsed_s();
    return answer;
  }

  answer.mode = "generative";
  const auto messages = prompt.messages(answer.sources, question);
  QUIRE_ASSIGN_OR_RETURN(engine::ChatPrompt chat,
                         engine::build_chat_prompt(*model_, messages, options.chat));
  answer.prompt = chat.text;
  engine::GenerationRequest request;
  request.prompt = std::move(chat.tokens);
  request.stop = std::move(chat.stop);
  request.sampling = options.sampling;
  request.max_tokens = options.max_tokens;
  request.logit_bias = options.logit_bias;
  std::shared_ptr<CitationGuard> guard;
  if (options.citation_guard) {
    if (pieces_ == nullptr) pieces_ = make_token_pieces(model_->tokenizer());
    guard = std::make_shared<CitationGuard>(pieces_, static_cast<int>(answer.sources.size()));
  }
  if (options.constraint && guard) {
    request.constraint = std::make_shared<engine::ConstraintChain>(
        std::vector<std::shared_ptr<engine::TokenConstraint>>{options.constraint, guard});
  } else if (options.constraint) {
    request.constraint = options.constraint;
  } else {
    request.constraint = guard;
  }
  QUIRE_ASSIGN_OR_RETURN(engine::GenerationResult result,
                         generator_->generate(std::move(request), on_text));
  answer.text = result.text;
  answer.prompt_tokens = result.prompt_tokens;
  answer.generated_tokens = result.generated_tokens;
  answer.timings.prefill_s = result.prefill_s;
  answer.timings.decode_s = result.decode_s;
  answer.prefill_tok_s = result.prefill_tok_s();
  answer.decode_tok_s = result.decode_tok_s();
  if (guard) answer.guard_masked_steps = guard->masked_steps();
  const int n_sources = static_cast<int>(answer.sources.size());
  for (const CitationMark& mark : parse_citations(answer.text, n_sources)) {
    for (int n : mark.numbers) {
      if (n < 1 || n > n_sources) {
        if (std::find(answer.invalid_citations.begin(), answer.invalid_citations.end(), n) ==
            answer.invalid_citations.end()) {
          answer.invalid_citations.push_back(n);
        }
        continue;
      }
      auto it = std::find_if(answer.citations.begin(), answer.citations.end(),
                             [&](const Citation& c) { return c.n == n; });
      if (it == answer.citations.end()) {
        answer.citations.push_back(citation_of(answer.sources[static_cast<size_t>(n - 1)]));
      }
    }
  }
  QUIRE_RETURN_IF_ERROR(check_support(answer));
  answer.timings.total_s = total.elapsed_s();
  return answer;
}

}  // namespace quire::generate
