#include "index/bm25_query.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_set>

#include "engine/tokenizer/stopwords.h"

namespace quire::index {

std::vector<std::string> bm25_query_terms(std::string_view query) {
  std::vector<std::string> terms;
  std::unordered_set<std::string> seen;
  std::string term;
  auto finish = [&] {
    if (!term.empty() && terms.size() < kMaxBm25QueryTerms && seen.insert(term).second) {
      terms.push_back(term);
    }
    term.clear();
  };
  for (char c : query) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || std::isalnum(byte)) {
      term += byte < 0x80 ? static_cast<char>(std::tolower(byte)) : c;
    } else {
      finish();
    }
  }
  finish();
  return terms;
}

std::string fts5_match_any(const std::vector<std::string>& terms) {
  std::string expression;
  for (const std::string& term : terms) {
    if (!expression.empty()) expression += " OR ";
    expression += '"';
    expression += term;
    expression += '"';
  }
  return expression;
}

std::string fts5_match_phrase(const std::vector<std::string>& terms) {
  if (terms.empty()) return "";
  std::string expression(1, '"');
  for (size_t i = 0; i < terms.size(); ++i) {
    if (i > 0) expression += ' ';
    expression += terms[i];
  }
  expression += '"';
  return expression;
}

double TermStats::idf(size_t i) const {
  const double n = static_cast<double>(chunks_with[i]);
  const double total = static_cast<double>(chunks);
  return std::max(1e-6, std::log((total - n + 0.5) / (n + 0.5)));
}

double TermStats::idf_total() const {
  double sum = 0;
  for (size_t i = 0; i < terms.size(); ++i) sum += idf(i);
  return sum;
}

std::vector<std::string> bm25_search_terms(std::string_view query) {
  std::vector<std::string> terms = bm25_query_terms(query);
  std::vector<std::string> content;
  for (const std::string& t : terms) {
    if (!is_function_word(t)) content.push_back(t);
  }
  return content.empty() ? terms : content;
}

std::string bm25_match_expression(std::string_view query) {
  return fts5_match_any(bm25_search_terms(query));
}

}  // namespace quire::index
