#include "index/bm25_query.h"

#include <cctype>
#include <unordered_set>

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

std::string bm25_match_expression(std::string_view query) {
  return fts5_match_any(bm25_query_terms(query));
}

}  // namespace quire::index
