// Pre-tokenizers of byte-level BPE (tokenizer.ggml.model "gpt2"): the split of text into words,
// selected by tokenizer.ggml.pre, before BPE merges run inside each word.
//
// llama.cpp describes each pre-tokenizer as a list of regexes applied one after the other, each
// splitting the pieces the previous one produced (matches and the text between matches both
// become pieces). These are hand-written scanners with exactly llama.cpp's results, including
// where its own hand-written GPT-2 / Llama-3 splitters and its std::regex fallback (which sees
// non-ASCII code points only as "letter", "number", "punctuation", "whitespace" or "other")
// define the behaviour. Unicode classes: \p{L} = categories L*, \p{N} = N*, \p{P} = P*
// (libutf8proc), \s = the White_Space code points (U+0009..U+000D, U+0020, U+0085, U+00A0,
// U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
//
// The patterns, with (?!\S) meaning "not followed by a non-space inside the current piece":
//   kGpt2      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kStarcoder \p{N}, then kGpt2 (so every digit is a word of its own)
//   kLlama3    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//              ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2     kLlama3 with \p{N} in place of \p{N}{1,3}
//   kDefault   llama.cpp's fallback for "default" (and an absent key): [\p{P}$+<=>^~|]+, then
//              kGpt2, then \p{N}+, then [0-9][0-9][0-9]
// Case-insensitive contractions match ASCII letters only (no non-ASCII capital lowercases to
// s, t, r, e, v, m, l or d, so this equals llama.cpp's Unicode lowercasing).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/core/utf8.h"

namespace quire::engine {

enum class PreTokenizerKind : uint8_t {
  kDefault,
  kGpt2,
  kStarcoder,
  kLlama3,
  kQwen2,
};

// What a tokenizer.ggml.pre value means in llama.cpp (llama_vocab::impl::load).
struct PreTokenizerSpec {
  std::string_view name;  // the tokenizer.ggml.pre value
  PreTokenizerKind kind;
  // decode() tidies spaces around punctuation (llama.cpp's clean_spaces for this value).
  bool clean_spaces;
  // add_bos default before tokenizer.ggml.add_bos_token is read (true for the Llama-3 family).
  bool add_bos;
  // A whole word that is itself a token is taken as is, without merges (llama.cpp's
  // ignore_merges, Llama-3).
  bool ignore_merges;
};

// The spec of a tokenizer.ggml.pre value; "" (key absent) means "default", as in llama.cpp.
// kUnimplemented, naming the value and the supported ones, for any other value.
Result<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre);

// UTF-8 decoding as llama.cpp's unicode_cpts_from_utf8: a lead byte with enough continuation
// bytes gives its code point even when overlong ("\xC1\x81" is 'A') or a surrogate; a byte that
// starts no such sequence (stray continuation byte, truncated sequence, 0xF8..0xFF) gives
// U+FFFD and decoding resumes at the next byte. Sequences that decode beyond U+10FFFF (where
// llama.cpp throws) give U+FFFD for their lead byte too.
std::u32string decode_utf8_lenient(std::string_view text);

// The White_Space property (Unicode PropList.txt), which both WordPiece and the BPE
// pre-tokenizers split on.
bool is_white_space(char32_t cp);

// classify(c) for the 128 ASCII code points, computed once: the fast path of a tokenizer's
// per-code-point classification (WordPiece and the BPE pre-tokenizers each have one).
template <auto classify>
const auto& ascii_table() {
  using Class = decltype(classify(char32_t{0}));
  static const std::array<Class, 128> table = [] {
    std::array<Class, 128> t{};
    for (char32_t c = 0; c < 128; ++c) t[c] = classify(c);
    return t;
  }();
  return table;
}

// Splits code points into words; returns the length of each word in code points, in order
// (all > 0, summing to cpts.size()). Linear in the input.
std::vector<size_t> split_words(PreTokenizerKind kind, std::u32string_view cpts);

// split_words on decoded text, each word re-encoded as UTF-8 (invalid input shows as U+FFFD).
std::vector<std::string> pre_tokenize(PreTokenizerKind kind, std::string_view text);

}  // namespace quire::engine
