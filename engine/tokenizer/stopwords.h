// English function words and question words: the words a query shares with almost every text,
// which carry no evidence of what it is about. One list for BM25 queries (index/bm25_query)
// and the answer-side lexical matching (generate/lexical).
//
// Thread-safety: pure functions over a constant table.
#pragma once

#include <string_view>

namespace quire {

// `word` lower-cased ASCII ("the", "what", "does"); anything else is not a function word.
bool is_function_word(std::string_view word);

}  // namespace quire
