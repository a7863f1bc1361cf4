// Tokenizers built from a GGUF file's `tokenizer.*` metadata: the vocabulary and the common
// interface of WordPiece (BERT), SentencePiece (llama) and byte-level BPE (gpt2) tokenizers.
//
// Semantics follow llama.cpp (llama_tokenize / llama_token_to_piece / llama_detokenize), whose
// outputs are the goldens in ../shared/conformance. A Tokenizer is immutable after creation and
// safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"

namespace quire::engine {

using TokenId = int32_t;

// U+2581 ("▁"): SentencePiece's spelling of a space inside token texts, also llama.cpp's mark of
// a word start in WordPiece vocabularies.
inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::string model;  // tokenizer.ggml.model: "bert", "llama", "gpt2"
  std::string pre;    // tokenizer.ggml.pre ("" when absent)
  std::vector<std::string> tokens;
  std::vector<float> scores;     // empty when the file has none
  std::vector<TokenType> types;  // kNormal for all when the file has none
  std::vector<std::string> merges;
  // Token text -> id. When two ids share a text the later id wins (as in llama.cpp); empty
  // texts are not indexed.
  std::unordered_map<std::string, TokenId> index;

  // -1 = none. Keys tokenizer.ggml.{bos,eos,unknown,seperator,padding,cls,mask,eot}_token_id;
  // absent keys take the model's llama.cpp default (e.g. bert: unk 100, bos 101, sep 102), and a
  // default outside the vocabulary becomes -1. Without a bos key, a cls key sets bos too (BERT's
  // [CLS] plays the BOS role in llama.cpp).
  TokenId bos = -1, eos = -1, unk = -1, sep = -1, pad = -1, cls = -1, mask = -1, eot = -1;
  // tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix, else the model's default.
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;
  // decode() tidies the spaces a word-splitting tokenizer leaves before ".,!?" and around
  // apostrophes (llama.cpp's clean_spaces): on for bert and gpt2, off for llama. llama.cpp also
  // turns it off for some BPE pre-tokenizers (tokenizer.ggml.pre), which the BPE tokenizer must
  // mirror.
  bool clean_spaces = false;

  size_t size() const { return tokens.size(); }
  // Control and unknown tokens: rendered as nothing unless asked for (token_to_piece's
  // `special`), and recognized in text only with parse_special. False for ids out of range.
  bool is_special(TokenId id) const;

  // Reads tokenizer.* keys; checks array types, that lengths agree and that special ids are in
  // range. kNotFound when tokenizer.ggml.model or tokenizer.ggml.tokens is missing, kDataLoss
  // (message naming the key) for wrong types, mismatched lengths, out-of-range ids.
  static Result<Vocab> from_gguf(const gguf::GgufFile& file);
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special: add the model's BOS / [CLS]..[SEP] etc.; parse_special: text that spells a
  // special token (e.g. "[SEP]", "<s>") becomes that token instead of being split. Any bytes are
  // accepted: invalid UTF-8 is handled as documented by each tokenizer, never an error.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;

  // The text of one token (llama_token_to_piece with lstrip = 0), by token type: control and
  // unknown tokens are their text when `special`, else ""; user-defined tokens are their text;
  // normal tokens are normal_piece(text) and byte tokens byte_piece(text), as the algorithm
  // renders them; other types (unused, undefined) are "". "" for ids out of range.
  std::string token_to_piece(TokenId id, bool special) const;

  // llama_detokenize: the concatenated pieces (unparse_special is token_to_piece's `special`).
  // remove_special drops a leading BOS when vocab().add_bos and a trailing EOS when
  // vocab().add_eos. With vocab().add_space_prefix, one leading space of the first piece is
  // dropped, unless a BOS was removed. Then spaces are cleaned up when vocab().clean_spaces.
  virtual std::string decode(std::span<const TokenId> ids, bool remove_special,
                             bool unparse_special) const;

  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit Tokenizer(Vocab vocab);

  // A piece of the input: raw text still to tokenize, or a special token found in the text.
  struct Fragment {
    std::string_view text;  // raw text when token < 0
    TokenId token = -1;
  };
  // Splits text on the spellings of special tokens, longest spelling first, leftmost occurrence
  // first (llama.cpp's tokenizer_st_partition). User-defined tokens are always split out;
  // control and unknown tokens only with parse_special. Empty text gives no fragments.
  // llama.cpp's per-model LSTRIP/RSTRIP token attributes (jina, phi-3) are not modelled.
  std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;

  // A normal token's text as output text. This default is the SentencePiece convention that
  // llama.cpp's WordPiece vocabularies share: kSpaceMark shown as a space, all else as is.
  virtual std::string normal_piece(const std::string& text) const;
  // A byte token's output; "" unless the algorithm has byte tokens (SentencePiece's <0xNN>).
  virtual std::string byte_piece(const std::string& text) const;

  Vocab vocab_;

 private:
  // Control, unknown and user-defined ids, longest text first (ties: lower id first).
  std::vector<TokenId> special_by_length_;
};

using TokenizerFactory = Result<std::unique_ptr<Tokenizer>> (*)(Vocab);

// The tokenizer algorithms GGUF names in tokenizer.ggml.model, one entry each.
struct TokenizerKind {
  std::string_view model;  // the tokenizer.ggml.model value: "llama", "gpt2", "bert", ...
  std::string_view name;   // what it is called for people: "SentencePiece", "WordPiece", ...
  TokenizerFactory make;   // nullptr while quire lacks the algorithm
};
std::span<const TokenizerKind> tokenizer_kinds();
// The entry for a tokenizer.ggml.model value, or nullptr when unknown.
const TokenizerKind* find_tokenizer_kind(std::string_view model);
// The entry's name; "none" for a file without a tokenizer (model "" or "none"), and
// "unknown (<model>)" for a value not in the table.
std::string tokenizer_kind_name(std::string_view model);

// The tokenizer named by tokenizer.ggml.model (tokenizer_kinds()); kUnimplemented for models
// quire lacks. Errors from Vocab::from_gguf come with the file name as context.
Result<std::unique_ptr<Tokenizer>> make_tokenizer(const gguf::GgufFile& file);
Result<std::unique_ptr<Tokenizer>> make_tokenizer(Vocab vocab);

}  // namespace quire::engine
