#include "engine/tokenizer/stopwords.h"

#include <unordered_set>

namespace quire {

bool is_function_word(std::string_view word) {
  static const std::unordered_set<std::string_view> kStop = {
      "a",      "an",    "the",   "of",      "in",      "on",    "at",     "to",    "for",
      "from",   "by",    "with",  "and",     "or",      "not",   "is",     "are",   "was",
      "were",   "be",    "been",  "being",   "do",      "does",  "did",    "how",   "what",
      "which",  "who",   "whom",  "whose",   "when",    "where", "why",    "that",  "this",
      "these",  "those", "it",    "its",     "as",      "into",  "than",   "then",  "there",
      "their",  "they",  "them",  "he",      "she",     "his",   "her",    "we",    "our",
      "you",    "your",  "i",     "can",     "could",   "would", "should", "will",  "shall",
      "may",    "might", "must",  "has",     "have",    "had",   "about",  "after", "before",
      "during", "over",  "under", "between", "through", "per",   "each",   "any",   "all",
      "some",   "many",  "much",  "more",    "most",    "other", "such",   "only",  "also",
      "if",     "so",    "no",    "yes",     "one",     "two",   "first",  "use",   "used",
      "using"};
  return kStop.contains(word);
}

}  // namespace quire
