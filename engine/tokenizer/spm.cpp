#include "engine/tokenizer/spm.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <utility>

#include "engine/gguf/gguf_names.h"

namespace quire::engine {
namespace {

// llama.cpp's unicode_len_utf8: the length a lead byte announces, judged by its high nibble
// only (continuation bytes and 0xF8-0xFF included).
size_t utf8_len_from_lead(uint8_t byte) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[byte >> 4];
}

// C isspace in the "C" locale, as llama.cpp's RSTRIP uses it.
bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A symbol of the merge: bytes [start, start + size) of the fragment, linked to its live
// neighbours. size 0 marks a symbol merged into its left neighbour.
struct Symbol {
  size_t start;
  size_t size;
  int64_t prev;
  int64_t next;
};

// A candidate merge of symbols left and right (adjacent when pushed). `size` is their combined
// size then: if either has changed since, the candidate is stale.
struct Bigram {
  float score;
  int64_t left;
  int64_t right;
  size_t size;
};

// Priority order: higher score first, then the leftmost pair.
struct BigramLess {
  bool operator()(const Bigram& a, const Bigram& b) const {
    if (a.score != b.score) return a.score < b.score;
    return a.left > b.left;
  }
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> SpmTokenizer::create(Vocab vocab) {
  std::unique_ptr<SpmTokenizer> tokenizer(new SpmTokenizer(std::move(vocab)));
  if (tokenizer->vocab_.unk < 0) {
    for (int byte = 0; byte < 256; ++byte) {
      if (tokenizer->byte_tokens_[byte] >= 0) continue;
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", byte);
      return failed_precondition_error(
          std::string(gguf::kKvTokenizerList) + ": no byte token " + name +
          " and no unknown token (" + std::string(gguf::kKvTokenizerUnkId) +
          "): SentencePiece needs one of them for characters outside the vocabulary");
    }
  }
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}

bool SpmTokenizer::is_phi3_vocab(const Vocab& vocab) {
  if (vocab.model != "llama") return false;
  for (const std::string_view text : {"<|user|>", "<|assistant|>", "<|system|>", "<|end|>"}) {
    const auto it = vocab.index.find(std::string(text));
    if (it == vocab.index.end()) return false;
    const TokenType type = vocab.types[it->second];
    if (type != TokenType::kControl && type != TokenType::kUserDefined) return false;
  }
  return true;
}

SpmTokenizer::SpmTokenizer(Vocab vocab) : Tokenizer(std::move(vocab)) {
  // llama.cpp's byte_to_token: "<0xNN>" (upper-case hex), else the one-byte text.
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    TokenId id = lookup(name);
    if (id < 0) id = lookup(std::string(1, static_cast<char>(byte)));
    byte_tokens_[byte] = id;
  }

  if (is_phi3_vocab(vocab_)) {
    // llama.cpp (llama_vocab::impl::load, "phi-3"/"phi3" models): RSTRIP on for every control,
    // unknown and user-defined token and for </s>, then off again for <unk>, <s>, <|endoftext|>.
    rstrip_.assign(vocab_.size(), false);
    for (size_t id = 0; id < vocab_.size(); ++id) {
      const TokenType type = vocab_.types[id];
      rstrip_[id] = type == TokenType::kControl || type == TokenType::kUnknown ||
                    type == TokenType::kUserDefined;
    }
    const auto set = [this](const char* text, bool value) {
      const TokenId id = lookup(text);
      if (id >= 0) rstrip_[id] = value;
    };
    set("</s>", true);
    for (const char* text : {"<unk>", "<s>", "<|endoftext|>"}) set(text, false);
  }
}

TokenId SpmTokenizer::lookup(std::string_view text) const {
  const auto it = vocab_.index.find(std::string(text));
  return it == vocab_.index.end() ? -1 : it->second;
}

std::vector<Tokenizer::Fragment> SpmTokenizer::partition(std::string_view text,
                                                         bool parse_special) const {
  std::vector<Fragment> fragments = split_special(text, parse_special);
  if (rstrip_.empty()) return fragments;
  std::vector<Fragment> out;
  out.reserve(fragments.size());
  bool strip_next = false;
  for (Fragment fragment : fragments) {
    if (fragment.token >= 0) {
      out.push_back(fragment);
      strip_next = rstrip_[fragment.token];
      continue;
    }
    if (strip_next) {
      size_t n = 0;
      while (n < fragment.text.size() && is_c_space(fragment.text[n])) ++n;
      fragment.text.remove_prefix(n);
    }
    strip_next = false;
    if (!fragment.text.empty()) out.push_back(fragment);
  }
  return out;
}

void SpmTokenizer::append_unknown_char(std::string_view bytes, std::vector<TokenId>& out) const {
  for (const char c : bytes) {
    if (byte_tokens_[static_cast<uint8_t>(c)] < 0) {
      // create() guarantees an unknown token when some byte has no token.
      out.push_back(vocab_.unk);
      return;
    }
  }
  for (const char c : bytes) out.push_back(byte_tokens_[static_cast<uint8_t>(c)]);
}

void SpmTokenizer::encode_escaped(std::string_view text, std::vector<TokenId>& out) const {
  if (text.empty()) return;

  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t offset = 0; offset < text.size();) {
    const size_t len =
        std::min(utf8_len_from_lead(static_cast<uint8_t>(text[offset])), text.size() - offset);
    const auto index = static_cast<int64_t>(symbols.size());
    symbols.push_back({offset, len, index - 1, offset + len == text.size() ? -1 : index + 1});
    offset += len;
  }

  std::vector<Bigram> storage;
  storage.reserve(symbols.size());
  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue(BigramLess{},
                                                                     std::move(storage));
  std::string key;
  const auto try_add = [&](int64_t left, int64_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    key.assign(text.substr(l.start, l.size + r.size));
    const auto it = vocab_.index.find(key);
    if (it == vocab_.index.end()) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[it->second];
    queue.push({score, left, right, l.size + r.size});
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    try_add(static_cast<int64_t>(i) - 1, static_cast<int64_t>(i));
  }

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    // A symbol only grows by absorbing its right neighbour and dies when absorbed, so an
    // unchanged combined size means the pair is still adjacent and as it was.
    if (left.size == 0 || right.size == 0 || left.size + right.size != bigram.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_add(left.prev, bigram.left);
    try_add(bigram.left, left.next);
  }

  for (int64_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].start, symbols[i].size);
    const TokenId id = lookup(piece);
    if (id >= 0) {
      out.push_back(id);
    } else {
      append_unknown_char(piece, out);
    }
  }
}

std::vector<TokenId> SpmTokenizer::encode(std::string_view text, bool add_special,
                                          bool parse_special) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);

  std::string escaped;
  bool prev_special = true;  // the first fragment gets the space prefix too
  for (const Fragment& fragment : partition(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      prev_special = true;
      continue;
    }
    escaped.clear();
    if (vocab_.add_space_prefix && prev_special) escaped += kSpaceMark;
    for (const char c : fragment.text) {
      if (c == ' ') {
        escaped += kSpaceMark;
      } else {
        escaped += c;
      }
    }
    encode_escaped(escaped, out);
    prev_special = false;
  }

  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string SpmTokenizer::byte_piece(const std::string& text) const {
  // "<0xNN>": the byte NN. llama.cpp parses the two characters after "<0x" with strtol; a byte
  // token spelled otherwise gives the value of its leading hex digits.
  int value = 0;
  for (size_t i = 3; i < 5 && i < text.size(); ++i) {
    const int digit = hex_digit(text[i]);
    if (digit < 0) break;
    value = value * 16 + digit;
  }
  return std::string(1, static_cast<char>(value));
}

}  // namespace quire::engine
