// SentencePiece tokenizer (tokenizer.ggml.model "llama"), matching llama.cpp's SPM tokenizer
// (llm_tokenizer_spm, build 4748): the llama / mistral / phi-3 vocabularies, whose token texts
// spell a space as U+2581 "▁", carry a score each, and include the 256 byte tokens <0x00>..<0xFF>.
//
// encode(text, add_special, parse_special):
//  1. With add_special and vocab.add_bos, BOS first (with vocab.add_eos, EOS last); an id the
//     vocabulary lacks is left out.
//  2. The text is split on the spellings of special tokens (see Tokenizer::split_special, plus
//     the phi-3 whitespace rule below).
//  3. Each raw-text fragment gets a leading " " when vocab.add_space_prefix is on and it is the
//     first fragment or follows a special token; then every " " becomes "▁".
//  4. The fragment starts as one symbol per UTF-8 character; llama.cpp's character length comes
//     from the lead byte alone (0xC0-0xDF: 2, 0xE0-0xEF: 3, 0xF0-0xFF: 4, else 1, cut at the end
//     of the text), so invalid UTF-8 never fails: a bad lead byte takes the next bytes with it,
//     whatever they are (bytes of an escaped space included, which then decode as a literal
//     "▁"), and a stray continuation byte is a character of its own.
//  5. Repeatedly, the adjacent pair of symbols whose concatenation is a vocabulary text with the
//     highest score is merged (ties: leftmost pair first). Merged symbols are always tokens
//     (so llama.cpp's re-split of a non-token symbol along its merges never happens).
//  6. Each final symbol that is a token is emitted; any other (a single character the vocabulary
//     lacks) becomes one byte token per byte (<0xNN>, else a token whose text is that byte). A
//     vocabulary without such tokens gives one unknown token per character instead.
//
// Phi-3: llama.cpp gives every special token of a model named "phi3"/"phi-3" the RSTRIP
// attribute (except <unk>, <s> and <|endoftext|>; </s> included): whitespace right after such a
// token in the text is dropped before step 3. Vocab does not carry general.name, so this
// tokenizer applies the rule when the vocabulary has phi-3's chat tokens (is_phi3_vocab()).
//
// token_to_piece: normal tokens with "▁" shown as " "; byte tokens as their single byte (so a
// multi-byte character may be split over several pieces); control and unknown tokens as their
// text when `special`, else ""; user-defined tokens as their text; unused and undefined "".
// decode is Tokenizer::decode.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

class SpmTokenizer final : public Tokenizer {
 public:
  // kFailedPrecondition when some byte value has no token (no <0xNN> and no single-byte text)
  // and the vocabulary has no unknown token either: such input could not be encoded.
  static Result<std::unique_ptr<Tokenizer>> create(Vocab vocab);

  // Whether llama.cpp's phi-3 whitespace rule applies: a "llama" vocabulary whose special tokens
  // include "<|user|>", "<|assistant|>", "<|system|>" and "<|end|>". llama.cpp decides by the
  // model's general.name ("phi3" or "phi-3" in it); the two agree on ggml-vocab-phi-3.gguf.
  static bool is_phi3_vocab(const Vocab& vocab);

  std::vector<TokenId> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;

 private:
  explicit SpmTokenizer(Vocab vocab);

  // Normal tokens: the base's "▁" as " ". Byte tokens "<0xNN>": the byte NN.
  std::string byte_piece(const std::string& text) const override;

  // split_special, then the whitespace (C isspace) at the start of a raw fragment that follows
  // a token marked in rstrip_ is dropped, and the fragment too if nothing is left. llama.cpp
  // strips while it splits; the two agree unless a special token's text starts with whitespace.
  std::vector<Fragment> partition(std::string_view text, bool parse_special) const;
  // Appends the tokens of one fragment whose spaces are already "▁" (steps 4-6).
  void encode_escaped(std::string_view text, std::vector<TokenId>& out) const;
  // Appends the fallback tokens of a character the vocabulary lacks.
  void append_unknown_char(std::string_view bytes, std::vector<TokenId>& out) const;
  // The id of `text`, or -1.
  TokenId lookup(std::string_view text) const;

  // Token id of each byte value, or -1.
  std::array<TokenId, 256> byte_tokens_{};
  // Per token id: drop the whitespace after it (phi-3). Empty when no token has the attribute.
  std::vector<bool> rstrip_;
};

}  // namespace quire::engine
