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
  std::string pre;    // tokenizer.ggml.pre
  std::vector<std::string> tokens;
  std::vector<float> scores;     // empty when the file has none
  std::vector<TokenType> types;  // kNormal for all when the file has none
  std::vector<std::string> merges;
  std::unordered_map<std::string, TokenId> index;  // token text -> id

  TokenId bos = -1, eos = -1, unk = -1, sep = -1, pad = -1, cls = -1, mask = -1, eot = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;

  size_t size() const { return tokens.size(); }
  bool is_special(TokenId id) const;  // control, user-defined? no: control and unknown types

  // Reads tokenizer.* keys; checks array lengths agree and special ids are in range.
  static Result<Vocab> from_gguf(const gguf::GgufFile& file);
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special: add the model's BOS / [CLS]..[SEP] etc.; parse_special: text that spells a
  // special token (e.g. "[SEP]", "<s>") becomes that token instead of being split.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;

  // The text of one token (llama_token_to_piece with lstrip = 0). `special`: render control
  // tokens as their text instead of nothing.
  virtual std::string token_to_piece(TokenId id, bool special) const = 0;

  // llama_detokenize: concatenated pieces; remove_special drops a leading BOS/CLS and trailing
  // EOS/SEP added by encode(add_special).
  virtual std::string decode(std::span<const TokenId> ids, bool remove_special,
                             bool unparse_special) const;

  const Vocab& vocab() const { return vocab_; }

 protected:
  explicit Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {}
  Vocab vocab_;
};

// The tokenizer named by tokenizer.ggml.model; kUnimplemented for models quire lacks.
Result<std::unique_ptr<Tokenizer>> make_tokenizer(const gguf::GgufFile& file);

}  // namespace quire::engine
