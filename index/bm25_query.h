// User text -> an FTS5 MATCH expression for BM25 search over chunk text.
//
// The user's words are never parsed as FTS5 syntax: the query is split into terms (maximal runs
// of ASCII letters and digits, or of non-ASCII bytes, so words in any script survive and the
// unicode61 tokenizer splits them further inside the quotes), lowercased (ASCII), de-duplicated
// in order of first appearance, capped at kMaxBm25QueryTerms, and each term is written as an
// FTS5 string ("term") joined with OR. A term never holds '"' or any other ASCII punctuation, so
// quotes, parentheses, '*', ':', '^', '-', '+' and the operators AND / OR / NOT / NEAR are just
// words or separators. Nothing here consults the index; it is pure text processing.
//
// Thread-safety: pure functions; any number of calls may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quire::index {

// More terms add latency, not recall.
inline constexpr size_t kMaxBm25QueryTerms = 64;

// The terms of `query` as described above; empty when it holds no letter or digit.
std::vector<std::string> bm25_query_terms(std::string_view query);

// "\"a\" OR \"b\"" for the terms {a, b}; empty for no terms. Each term must hold no '"' (terms
// from bm25_query_terms never do).
std::string fts5_match_any(const std::vector<std::string>& terms);

// "\"a b\"" for the terms {a, b}: one FTS5 phrase, the terms adjacent and in order (a phrase of
// one term is that term). Empty for no terms. Each term must hold no '"'.
std::string fts5_match_phrase(const std::vector<std::string>& terms);

// How common the BM25 terms of a text are in an index: the statistics FTS5's bm25() weighs
// them by (Store::term_stats fills it).
struct TermStats {
  int64_t chunks = 0;                // chunks in the full-text index
  std::vector<std::string> terms;    // bm25_query_terms of the text
  std::vector<int64_t> chunks_with;  // per term: chunks holding it (after stemming)
  // FTS5's idf of term i: log((N - n + 0.5) / (n + 0.5)), at least 1e-6.
  double idf(size_t i) const;
  double idf_total() const;  // over all terms
};

// The terms BM25 search ORs: bm25_query_terms minus English function words ("the", "what",
// "does": engine/tokenizer/stopwords.h), unless that would leave none. A function word matches
// most chunks, so FTS5 would score nearly the whole index for it (150 ms a query at 100k
// chunks) while its idf adds almost nothing to any score.
std::vector<std::string> bm25_search_terms(std::string_view query);

// fts5_match_any(bm25_search_terms(query)): empty when the query has no terms (search nothing).
std::string bm25_match_expression(std::string_view query);

}  // namespace quire::index
