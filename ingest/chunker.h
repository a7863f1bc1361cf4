// Splitting a document's pages into overlapping chunks of about N tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "index/store.h"
#include "ingest/document.h"

namespace quire::ingest {

struct ChunkerOptions {
  int64_t target_tokens = 256;  // values below 1 are taken as 1
  int64_t overlap_tokens = 32;  // clamped to [0, target_tokens - 1]
};

// Counts tokens of a piece of text: estimate_tokens(), or a tokenizer's count. A counter that
// adds special tokens to every call ([CLS] ... [SEP]) is fine: count_tokens("") is taken as that
// fixed cost and subtracted from the pieces the chunker sums, and every chunk is measured whole
// at the end. Called from the chunking thread only.
using TokenCounter = std::function<int64_t(std::string_view)>;

// A fast estimate without a tokenizer: about 1.3 tokens per word (words split on spaces and
// punctuation, as WordPiece/BPE vocabularies split English), plus one per punctuation mark:
// ceil(1.3 * words) + punctuation. Bytes >= 0x80 count as word characters.
int64_t estimate_tokens(std::string_view text);

// The document's text: normalized pages joined with "\n\n" (every page, empty ones included, so
// the page of an offset follows from the page lengths). Chunk offsets (bytes) point into it.
std::string document_text(const std::vector<Page>& pages);
// Where each page begins in document_text(pages), one offset per page.
std::vector<int64_t> page_starts(const std::vector<Page>& pages);

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
//
// The chunks come as the index stores them: ord, pages, char_start/char_end (byte offsets into
// document_text(pages)), n_tokens = count_tokens(text) and text = document_text(pages).substr(
// char_start, char_end - char_start); id and doc_id are left 0 for the store to assign.
std::vector<index::ChunkRecord> chunk_pages(const std::vector<Page>& pages,
                                            const ChunkerOptions& options,
                                            const TokenCounter& count_tokens);

// The ids of a text as the embedder takes them: Tokenizer::encode with add_special (e.g.
// [CLS] ... [SEP]). The special tokens must be the same for every text (true of every
// tokenizer in engine/tokenizer/), so encode(text).size() - encode("").size() is the text's
// own token count. Called from the chunking thread only.
using TokenEncoder = std::function<std::vector<engine::TokenId>(std::string_view)>;

struct EncodedChunks {
  std::vector<index::ChunkRecord> chunks;
  std::vector<std::vector<engine::TokenId>> token_ids;  // token_ids[i] = encode(chunks[i].text)
};

// chunk_pages() counting with `encode`: count(text) = encode(text).size() - encode("").size(),
// so the special tokens count neither against the target nor in n_tokens (for a tokenizer, the
// same chunks as counting with encode(text, add_special=false)). Each chunk's final measurement
// is its encoding, kept in token_ids: a chunk's text is tokenized once for the count and the
// embedder (Embedder::embed_tokens).
EncodedChunks chunk_pages_encoded(const std::vector<Page>& pages, const ChunkerOptions& options,
                                  const TokenEncoder& encode);

}  // namespace quire::ingest
