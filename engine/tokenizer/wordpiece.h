// WordPiece (BERT) tokenizer, matching llama.cpp's WPM tokenizer (tokenizer.ggml.model "bert").
//
// GGUF stores a BERT vocabulary converted the llama.cpp way: a word-initial piece "the" is
// "▁the" (U+2581 prefix), a continuation piece "##s" is "s", special tokens keep their text
// ("[CLS]"). Encoding a raw-text fragment:
//  1. Decode UTF-8. Each byte that does not start a valid sequence (including overlong forms and
//     surrogates) becomes U+FFFD, which step 3 drops: invalid bytes vanish, they never fail.
//  2. Replace every code point by the first code point of its canonical decomposition (NFD), so
//     "é" (U+00E9) becomes "e" and "≠" becomes "=", then by its simple lowercase mapping. This is
//     llama.cpp's normalization, and differs from BERT's on purpose: a combining mark that is
//     already separate in the input (U+0301 after "e") is kept, and so makes its word [UNK].
//  3. Split into words: White_Space code points end a word; U+0000, U+FFFD and categories Cc,
//     Cf, Co, Cs are dropped; punctuation (P*), ASCII symbols ($+<=>^`|~) and CJK ideographs are
//     words of their own.
//  4. Each word, prefixed with "▁", is covered greedily from the left by the longest matching
//     vocabulary text; if some position matches nothing the whole word becomes [UNK].
// add_special wraps the result in [CLS] (cls, else bos) ... [SEP] (sep, else eos); an id the
// vocabulary lacks is left out.
//
// Unicode data (categories, decompositions, case) come from libutf8proc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

class WordPieceTokenizer final : public Tokenizer {
 public:
  // kFailedPrecondition when the vocabulary has no unknown token (needed for unmatched words).
  static Result<std::unique_ptr<Tokenizer>> create(Vocab vocab);

  std::vector<TokenId> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;

  // token_to_piece: the base's, normal tokens with "▁" shown as " ".

 private:
  explicit WordPieceTokenizer(Vocab vocab);

  // Appends the tokens of one raw-text fragment (steps 1-4 above).
  void encode_text(std::string_view text, std::vector<TokenId>& out) const;
  // Appends the tokens of one "▁"-prefixed word, or [UNK].
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  // Byte trie over every token text, for longest-prefix matches. Node 0 is the root; a node's
  // children are edges [first_edge, first_edge + n_edges) sorted by byte.
  struct TrieNode {
    uint32_t first_edge = 0;
    uint32_t n_edges = 0;
    TokenId token = -1;  // the token spelled by the path to this node, if any
  };
  std::vector<TrieNode> nodes_;
  std::vector<uint8_t> edge_bytes_;
  std::vector<uint32_t> edge_targets_;
  // Child of `node` by `byte`, or -1.
  int64_t child(uint32_t node, uint8_t byte) const;

  TokenId first_ = -1;  // added before the text by add_special ([CLS])
  TokenId last_ = -1;   // added after it ([SEP])
};

}  // namespace quire::engine
