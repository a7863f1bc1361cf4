// "Not in the sources", decided in code before any generation: a question is declined when the
// documents give no lexical evidence for it. Two tests, calibrated on ../shared/data/qa/dev.jsonl
// (docs/answers.md gives the numbers):
//  * absent names: the question names something (a word with a capital letter after its first
//    word, or letters mixed with digits: "Kubernetes", "EfficientNet-B7") of which some part of
//    three or more characters occurs in no chunk of the searchable documents;
//  * weak evidence: the best BM25 score of the question over the searchable documents is below
//    `min_bm25` (FTS5's bm25 with its default weights, as index/ reports it).
// Either one declines. The user can lower min_bm25, turn off the names test, or disable both.
// "The searchable documents" are those the search filter admits (the whole index without one):
// the caller's lookups (Answerer::decide) pass the filter to the store, so a question answered
// only by filtered-out documents is declined as not in the sources.
//
// Thread-safety: pure functions, given a thread-safe lookup.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace quire::generate {

struct DeclineOptions {
  bool enabled = true;
  bool absent_names = true;
  double min_bm25 = 12.0;
};

struct DeclineDecision {
  bool declined = false;
  std::string reason;                     // for people: "the documents never mention 'Mamba'"
  std::vector<std::string> absent_names;  // as written in the question
  double best_bm25 = 0;
};

// Name-like words of the question, as written (punctuation around them removed).
std::vector<std::string> question_names(std::string_view question);

// `occurs(part)` says whether a word occurs in any searchable chunk; `best_bm25` is the
// question's best BM25 score over the searchable chunks (0 when nothing matches).
Result<DeclineDecision> decide_decline(std::string_view question, double best_bm25,
                                       const std::function<Result<bool>(std::string_view)>& occurs,
                                       const DeclineOptions& options = {});

}  // namespace quire::generate
