// Context packing: ranked chunks -> the numbered sources of a prompt, within a token budget.
//
// Chunks of one document whose character ranges overlap or touch (consecutive chunks share
// their overlap tokens) merge into one source covering the union of their text, with the page
// range of both. Sources are numbered 1..n in order of their best chunk's score. Chunks are
// taken best first; a chunk that would push the total over the budget is skipped (a later,
// smaller one may still fit), so the budget is never exceeded. The cost of a source is what the
// caller's `source_tokens` says (the prompt layout and the generation model's tokenizer live in
// generate/), re-measured whenever a merge grows the source.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "retrieve/retriever.h"

namespace quire::retrieve {

struct PackedSource {
  int number = 0;  // the [n] of the prompt, 1-based
  int64_t doc_id = 0;
  std::string path;
  std::string title;
  int64_t page_start = 0;
  int64_t page_end = 0;
  int64_t char_start = 0;  // union of the merged chunks, offsets into the document's text
  int64_t char_end = 0;
  std::vector<int64_t> chunk_ids;  // in document order
  std::string text;                // the document's text over [char_start, char_end)
  double score = 0;                // the best merged chunk's score
  int64_t tokens = 0;              // source_tokens(*this) when packed
};

struct PackOptions {
  int64_t budget_tokens = 3000;  // total of source_tokens over the sources, at most
  int max_sources = 8;           // sources at most (merges do not count twice)
};

using SourceTokenCounter = std::function<int64_t(const PackedSource&)>;

// Packs `ranked` (best first). kInvalidArgument when budget_tokens < 1 or max_sources < 1;
// kResourceExhausted when the best chunk alone does not fit the budget (the message gives both
// numbers). An empty `ranked` gives no sources.
Result<std::vector<PackedSource>> pack_context(const std::vector<SearchResult>& ranked,
                                               const PackOptions& options,
                                               const SourceTokenCounter& source_tokens);

// Drops every result whose chunk lies for at least `min_covered` of its characters inside
// chunks of the same document ranked above it (kept ones only). Order is kept.
std::vector<SearchResult> remove_overlapping(std::vector<SearchResult> ranked,
                                             double min_covered = 0.5);

}  // namespace quire::retrieve
