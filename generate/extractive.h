// Extractive answers (no generation model): the sentences of the packed sources that best
// answer the question, each followed by the [n] of its source.
//
// Every window of `window` consecutive sentences of every source is scored with LocalBm25 over
// all windows (generate/lexical.h); a window whose first sentence is not prose (a table row, a
// reference entry, a heading: under six words or under 60% alphabetic words) counts half. A
// source's score blends its retrieval score relative to the best source's (weight
// `prior_weight`) with its best window's score relative to the best window's. Sources are
// taken in that order, each giving the first sentence of its best window, while a source
// scores at least `min_relative` of the first, up to `max_sentences` sentences (so up to that
// many sources are cited: on dev.jsonl three distinct sources find the right page far more
// often than three sentences of the best one). The sentence a source gives is the one of its
// best window that scores best alone (LocalBm25 over single sentences).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "retrieve/context_pack.h"

namespace quire::generate {

struct ExtractOptions {
  int max_sentences = 3;
  int window = 2;             // sentences scored together (the answer often follows the match)
  double prior_weight = 0.3;  // weight of the retrieval score against the sentence score
  double min_relative = 0.3;  // a further source must score this share of the first
};

struct ExtractedSpan {
  int source_number = 0;   // the [n] it cites
  int64_t char_start = 0;  // offsets into the document's text
  int64_t char_end = 0;
  std::string text;
  double score = 0;  // the source's blended score
};

struct ExtractiveAnswer {
  std::vector<ExtractedSpan> spans;  // in the order of the answer
  std::string text;                  // "Sentence. [1] Sentence. [2]"
};

ExtractiveAnswer extract_answer(std::string_view question,
                                const std::vector<retrieve::PackedSource>& sources,
                                const ExtractOptions& options = {});

}  // namespace quire::generate
