// Sentence segmentation of normalized text (ingest/normalize.h's output): used by the chunker
// to cut chunks at sentence ends and by extractive answers to pick sentences.
//
// A sentence ends at ".", "!" or "?" (and any closing quotes or brackets after it) followed by
// white space and a character that may start a sentence: an uppercase letter (Unicode Lu/Lt), a
// digit, an opening quote or bracket. A "." after an abbreviation ("Fig.", "et al.", "e.g.",
// "No." before a number) or an initial ("J.") does not end one.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace quire::engine {

// Sentences of the paragraph [begin, end) of `text` (no leading or trailing spaces), appended to
// `out` as [start, end) byte offsets.
void split_sentences(std::string_view text, size_t begin, size_t end,
                     std::vector<std::pair<size_t, size_t>>& out);

// Sentences of a whole text: paragraphs (split at line breaks) cut into sentences, white space
// around them left out.
std::vector<std::pair<size_t, size_t>> split_sentences(std::string_view text);

}  // namespace quire::engine
