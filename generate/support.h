// The support check: how well the text of a cited source backs each sentence that cites it.
//
// A sentence's lexical support is the share of its distinct terms (generate/lexical.h: content
// words, stemmed) that occur in the source's text; with an embedder, the semantic support is the
// cosine of the two embeddings (clamped at 0) and the score is the mean of both, else the
// lexical share alone. A citation's support is the lowest over the sentences that cite it (the
// claim most weakly backed), and it is weak below `kWeakSupport`.
//
// Thread-safety: pure functions; the embedder serializes its own calls.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/embedder.h"

namespace quire::generate {

constexpr double kWeakSupport = 0.5;

struct CitedSentence {
  size_t begin = 0;  // byte offsets into the answer
  size_t end = 0;
  std::string text;          // the sentence without its citation marks
  std::vector<int> numbers;  // sources it cites (valid ones only)
};

// The answer cut into sentences (a citation mark after the final period belongs to the
// sentence before it); sentences without a valid citation are left out.
std::vector<CitedSentence> cited_sentences(std::string_view answer, int n_sources);

double lexical_support(std::string_view sentence, std::string_view source_text);

// Support of each sentence against each source it cites: result[i][j] for
// sentences[i].numbers[j]. `sources[n - 1]` is the text of source n. embedder may be nullptr.
Result<std::vector<std::vector<double>>> support_scores(const std::vector<CitedSentence>& sentences,
                                                        const std::vector<std::string>& sources,
                                                        engine::Embedder* embedder);

}  // namespace quire::generate
