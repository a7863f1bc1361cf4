// Byte-level BPE tokenizer (tokenizer.ggml.model "gpt2": GPT-2, Qwen2, StarCoder, Llama-3, ...),
// matching llama.cpp's BPE tokenizer (llm_tokenizer_bpe_session).
//
// Token texts are in GPT-2's byte-to-unicode alphabet: every byte is shown as one printable code
// point (the printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF as themselves, the other 68
// bytes as U+0100.. in byte order, so a space is "Ġ" U+0120 and a newline "Ċ" U+010A). Encoding a
// raw-text fragment:
//  1. Decode UTF-8 leniently (decode_utf8_lenient in pretokenize.h: an invalid byte becomes
//     U+FFFD, whose bytes EF BF BD are then what gets tokenized).
//  2. Split into words with the pre-tokenizer of tokenizer.ggml.pre (pretokenize.h).
//  3. Map each word's UTF-8 bytes to the byte alphabet. With ignore_merges (Llama-3), a word that
//     is a token is emitted as that token.
//  4. Otherwise start from one symbol per byte and repeatedly merge the adjacent pair with the
//     lowest rank in tokenizer.ggml.merges ("left right", rank = index; ties: leftmost pair
//     first; a pair listed twice keeps its first rank) until no listed pair remains.
//  5. Each symbol becomes its token; a symbol that is not a token becomes the tokens of its
//     single bytes that are tokens (the others are dropped), as in llama.cpp.
// Special-token text is split out first (Tokenizer::split_special). add_special adds BOS in
// front when vocab().add_bos and EOS at the end when vocab().add_eos (an absent id is left out).
//
// Token texts equal to llama.cpp's end-of-generation spellings ("<|endoftext|>", "<|im_end|>",
// "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<EOT>") are made CONTROL tokens
// whatever the file says, as llama.cpp does; the result shows in vocab().types.
//
// Immutable after create() and safe to share between threads: encode() keeps its scratch
// buffers per call. Merges sit in a flat hash table keyed by pair of part ids, so encoding a
// word of n bytes costs O(n log n) and loading the 151,936-token Qwen2 vocabulary takes a few
// hundred milliseconds at most.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

class BpeTokenizer final : public Tokenizer {
 public:
  // kUnimplemented for an unknown tokenizer.ggml.pre (find_pre_tokenizer); kFailedPrecondition
  // when the vocabulary has no merges. Merge lines without a space are never matched (as in
  // llama.cpp) but keep their rank slot. Builds its tables in O(vocabulary + merges).
  static Result<std::unique_ptr<Tokenizer>> create(Vocab vocab);

  std::vector<TokenId> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;

  const PreTokenizerSpec& pre_tokenizer() const { return pre_; }

 private:
  BpeTokenizer(Vocab vocab, PreTokenizerSpec pre);

  // token_to_piece of normal tokens: mapped back from the byte alphabet to raw bytes (possibly
  // partial UTF-8); a code point outside the alphabet gives
  // "[UNK_BYTE_0x<its UTF-8 in hex><token text>]" as in llama.cpp. Byte tokens give "" (the
  // base's byte_piece): llama.cpp's BPE has none.
  std::string normal_piece(const std::string& text) const override;

  // Per-call scratch, reused across the words of one encode() call.
  struct Scratch;

  // Appends the tokens of one raw-text fragment (steps 1-5 above).
  void encode_text(std::string_view text, Scratch& scratch, std::vector<TokenId>& out) const;
  // Appends the tokens of one word given as UTF-8 bytes (steps 3-5).
  void encode_word(std::string_view bytes, Scratch& scratch, std::vector<TokenId>& out) const;

  // A merge as looked up by its two parts: every text that is the left part, right part or
  // result of a merge has a part id; `result` is the part id of left + right.
  struct Merge {
    uint64_t key;  // left part << 32 | right part; kNoMerge for a free slot
    int32_t rank;
    int32_t result;
  };
  // nullptr when the pair is no merge.
  const Merge* find_merge(int32_t left_part, int32_t right_part) const;

  PreTokenizerSpec pre_;

  // Byte -> its code point's UTF-8 in the byte alphabet, and back (code point -> byte, or -1).
  std::array<std::string, 256> byte_chars_;
  std::array<int16_t, 324> char_bytes_;
  // Byte -> the token whose text is that byte's alphabet character, and its part id (or -1).
  std::array<TokenId, 256> char_tokens_;
  std::array<int32_t, 256> char_parts_;
  // Byte -> the token whose text is that single byte, or -1 (step 5's fallback).
  std::array<TokenId, 256> single_byte_tokens_;

  // part_tokens_[part] is the token whose text is that part, or -1.
  std::vector<TokenId> part_tokens_;
  // Open-addressing hash table of the merges (linear probing, power-of-two size, at most half
  // full), a flat array because the lookup is the hot loop of encoding.
  std::vector<Merge> merges_;
  int merge_shift_ = 0;  // 64 - log2(merges_.size())
};

}  // namespace quire::engine
