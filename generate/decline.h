// "Not in the sources", decided in code before any generation: a question is declined when the
// documents give no lexical evidence for it. Two tests, calibrated on ../shared/data/qa/dev.jsonl
// (docs/answers.md gives the numbers):
//  * absent names: the question names something (a word with a capital letter after its first
//    word, or letters mixed with digits: "Kubernetes", "EfficientNet-B7", "micro-F1") that the
//    searchable documents never mention. A proper name with a variant (first part capitalized,
//    several parts: "EfficientNet-B7", "GPT-4") must occur as the phrase of its parts or as one
//    word ("EfficientNetB7"); other names need each part of three or more characters somewhere,
//    where a camel-case part may also be spelled out ("BatchNorm" as "batch norm...").
//  * weak evidence: the best BM25 score of the question's content words over the searchable
//    documents, divided by the total idf of those words (index::TermStats), is below
//    `min_evidence`. The ratio does not grow with the corpus as raw BM25 does (idf grows with
//    log N), so one threshold serves a folder of five documents and one of thousands; a chunk
//    holding every term about once scores near 1.
// Either one declines. The user can lower min_evidence, turn off the names test, or disable both.
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
  double min_evidence = 0.35;
};

struct DeclineDecision {
  bool declined = false;
  std::string reason;                     // for people: "the documents never mention 'Mamba'"
  std::vector<std::string> absent_names;  // as written in the question
  double best_bm25 = 0;
  double evidence = 0;  // best_bm25 / idf_total
};

// Name-like words of the question, as written (punctuation around them removed).
std::vector<std::string> question_names(std::string_view question);

// Whether a word, or the phrase of several words separated by spaces, occurs in any searchable
// chunk (Store::search_phrase); with `prefix` its last word may be the start of a longer one.
using NameLookup = std::function<Result<bool>(std::string_view text, bool prefix)>;

// `occurs` is the NameLookup of the searchable documents; `best_bm25` is the question's best
// BM25 score over them (0 when nothing matches), `idf_total` its terms' total idf.
Result<DeclineDecision> decide_decline(std::string_view question, double best_bm25,
                                       double idf_total, const NameLookup& occurs,
                                       const DeclineOptions& options = {});

}  // namespace quire::generate
