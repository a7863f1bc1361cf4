// Lexical matching for answers: query terms, and BM25 over a small set of text units (the
// sentences of the retrieved sources) with statistics from those units alone.
//
// Terms are lower-cased words (ASCII letters and digits; bytes >= 0x80 count as letters), minus
// English function words and question words, with a light suffix stemmer ("-ing", "-ed",
// "-es", "-s", "-ly" off words longer than the suffix plus three).
//
// Thread-safety: pure functions; a LocalBm25 is immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quire::generate {

// Every term of `text`, in order (repeats kept).
std::vector<std::string> text_terms(std::string_view text);
// The distinct terms of a question, in order of first appearance.
std::vector<std::string> query_terms(std::string_view question);
// The distinct words of a question that carry its content: lower-cased, function and question
// words out, not stemmed (for the index's own stemmer), in order of first appearance.
std::vector<std::string> content_words(std::string_view question);

// BM25 (k1 = 1.2, b = 0.75) of each unit against the query, idf = log(1 + (N - n + 0.5) /
// (n + 0.5)) over the N units, normalized by the sum of the query terms' idf so scores of
// different questions compare (a unit holding every term once scores about 1).
class LocalBm25 {
 public:
  LocalBm25(std::vector<std::vector<std::string>> units, std::vector<std::string> query);
  double score(size_t unit) const;
  // Share of the query's idf mass whose terms occur in the unit, in [0, 1].
  double coverage(size_t unit) const;
  size_t size() const { return units_.size(); }

 private:
  std::vector<std::vector<std::string>> units_;
  std::vector<std::string> query_;
  std::vector<double> idf_;
  double idf_total_ = 0;
  double avg_length_ = 0;
};

}  // namespace quire::generate
