// Splitting a document's pages into overlapping chunks of about N tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/extract.h"

namespace quire::ingest {

struct ChunkerOptions {
  int64_t target_tokens = 256;  // values below 1 are taken as 1
  int64_t overlap_tokens = 32;  // clamped to [0, target_tokens - 1]
};

// Counts tokens of a piece of text: the embedder's tokenizer when there is one, else
// estimate_tokens(). A counter that adds special tokens to every call ([CLS] ... [SEP]) is fine:
// count_tokens("") is taken as that fixed cost and subtracted from the pieces the chunker sums,
// and every chunk is measured whole at the end. Called from the chunking thread only.
using TokenCounter = std::function<int64_t(std::string_view)>;

// A fast estimate without a tokenizer: about 1.3 tokens per word (words split on spaces and
// punctuation, as WordPiece/BPE vocabularies split English), plus one per punctuation mark:
// ceil(1.3 * words) + punctuation. Bytes >= 0x80 count as word characters.
int64_t estimate_tokens(std::string_view text);

struct Chunk {
  int64_t ord = 0;
  int64_t page_start = 0;  // 1-based, inclusive
  int64_t page_end = 0;
  int64_t char_start = 0;  // offsets into document_text(pages)
  int64_t char_end = 0;
  int64_t n_tokens = 0;  // count_tokens(text)
  std::string text;      // = document_text(pages).substr(char_start, char_end - char_start)
};

// The document's text: normalized pages joined with "\n\n" (every page, empty ones included, so
// the page of an offset follows from the page lengths). Chunk offsets (bytes) point into it.
std::string document_text(const std::vector<Page>& pages);

// Chunks of at most target_tokens tokens, split at paragraph boundaries first, then sentence
// boundaries, never inside a word; consecutive chunks share up to overlap_tokens tokens of
// whole sentences (the trailing sentences of the previous chunk). A single sentence longer than
// the target is split at word boundaries; only a single word longer than the target makes a
// chunk over it. Sentences end at . ! ? (and closing quotes or brackets) followed by a space and
// an uppercase letter, digit, quote or bracket, except after common abbreviations (e.g., i.e.,
// et al., Fig., Eq., Dr., vs., ...) and single initials. Each chunk starts and ends on a
// non-space character; page_start/page_end are the Page::number of the pages holding its first
// and last characters. Pages must be normalized (normalize.h). Empty pages produce no chunks.
// A null count_tokens means estimate_tokens.
std::vector<Chunk> chunk_pages(const std::vector<Page>& pages, const ChunkerOptions& options,
                               const TokenCounter& count_tokens);

}  // namespace quire::ingest
