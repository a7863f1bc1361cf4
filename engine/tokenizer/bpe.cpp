#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <deque>
#include <limits>
#include <unordered_map>
#include <utility>

#include "engine/gguf/gguf_names.h"

namespace quire::engine {
namespace {

// llama.cpp's end-of-generation spellings, which it forces to CONTROL.
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
};

constexpr uint64_t kNoMerge = ~uint64_t{0};  // part ids are < 2^31, so no real key

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Fibonacci hashing: the top bits of key * 2^64/phi.
size_t slot_of(uint64_t key, int shift) {
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift);
}

TokenId find_token(const Vocab& vocab, const std::string& text) {
  const auto it = vocab.index.find(text);
  return it == vocab.index.end() ? -1 : it->second;
}

struct Symbol {
  size_t begin;  // byte offset in the encoded word
  size_t size;   // bytes; 0 once merged into the symbol on its left
  int64_t prev;
  int64_t next;
  int32_t part;  // merge part id of the text, or -1 (then it is a single unmerged byte)
};

// A candidate merge of two adjacent symbols, valid while both still have the sizes recorded.
struct Bigram {
  int32_t rank;
  int32_t result;  // part id of the merged text
  int64_t left;
  int64_t right;
  size_t left_size;
  size_t right_size;
};

// Lowest rank first; among equal ranks the leftmost pair.
struct BigramAfter {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> BpeTokenizer::create(Vocab vocab) {
  QUIRE_ASSIGN_OR_RETURN(const PreTokenizerSpec pre, find_pre_tokenizer(vocab.pre));
  if (vocab.merges.empty()) {
    return failed_precondition_error(std::string(gguf::kKvTokenizerMerges) +
                                     ": absent or empty, and byte-level BPE needs merges");
  }
  // Up to three part ids per merge must fit an int32_t.
  if (vocab.merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() / 4)) {
    return data_loss_error(std::string(gguf::kKvTokenizerMerges) + ": " +
                           std::to_string(vocab.merges.size()) +
                           " merges, more than ranks can address");
  }
  for (const std::string_view text : kEndOfGenerationTexts) {
    const TokenId id = find_token(vocab, std::string(text));
    if (id >= 0) vocab.types[id] = TokenType::kControl;
  }
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(vocab), pre));
}

BpeTokenizer::BpeTokenizer(Vocab vocab, PreTokenizerSpec pre)
    : Tokenizer(std::move(vocab)), pre_(pre) {
  // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest take U+0100.. in
  // byte order.
  char_bytes_.fill(-1);
  char32_t next_unprintable = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const char32_t cp = printable ? static_cast<char32_t>(b) : next_unprintable++;
    append_utf8(byte_chars_[b], cp);
    char_bytes_[cp] = static_cast<int16_t>(b);
    char_tokens_[b] = find_token(vocab_, byte_chars_[b]);
    single_byte_tokens_[b] = find_token(vocab_, std::string(1, static_cast<char>(b)));
  }

  // Part ids, needed only while building: merge lines name parts by text.
  std::unordered_map<std::string_view, int32_t> part_ids;
  part_ids.reserve(vocab_.merges.size() * 2);
  std::deque<std::string> merged_texts;  // owns the result texts the map points into
  const auto intern = [&](std::string_view text) {
    const auto [it, inserted] =
        part_ids.try_emplace(text, static_cast<int32_t>(part_tokens_.size()));
    if (inserted) part_tokens_.push_back(find_token(vocab_, std::string(text)));
    return it->second;
  };

  size_t capacity = 16;
  while (capacity < vocab_.merges.size() * 2) capacity *= 2;
  merges_.assign(capacity, Merge{kNoMerge, 0, 0});
  merge_shift_ = 64 - std::countr_zero(capacity);
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const std::string_view line = vocab_.merges[rank];
    // llama.cpp splits at the first space after the first byte.
    const size_t space = line.find(' ', 1);
    if (space == std::string_view::npos) continue;
    const std::string_view left = line.substr(0, space);
    const std::string_view right = line.substr(space + 1);
    const int32_t left_part = intern(left);
    const int32_t right_part = intern(right);
    const uint64_t key = pair_key(left_part, right_part);
    size_t slot = slot_of(key, merge_shift_);
    while (merges_[slot].key != kNoMerge && merges_[slot].key != key) {
      slot = (slot + 1) & (capacity - 1);
    }
    if (merges_[slot].key == key) continue;  // listed before: the first rank stays
    std::string& result = merged_texts.emplace_back(left);
    result.append(right);
    merges_[slot] = Merge{key, static_cast<int32_t>(rank), intern(result)};
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = part_ids.find(byte_chars_[b]);
    char_parts_[b] = it == part_ids.end() ? -1 : it->second;
  }
}

const BpeTokenizer::Merge* BpeTokenizer::find_merge(int32_t left_part, int32_t right_part) const {
  const uint64_t key = pair_key(left_part, right_part);
  const size_t mask = merges_.size() - 1;
  for (size_t slot = slot_of(key, merge_shift_);; slot = (slot + 1) & mask) {
    if (merges_[slot].key == key) return &merges_[slot];
    if (merges_[slot].key == kNoMerge) return nullptr;
  }
}

struct BpeTokenizer::Scratch {
  std::u32string cpts;
  std::string word;     // one word's UTF-8 bytes
  std::string encoded;  // the word in the byte alphabet
  std::vector<Symbol> symbols;
  std::vector<Bigram> heap;  // a binary heap under BigramAfter
};

void BpeTokenizer::encode_word(std::string_view bytes, Scratch& scratch,
                               std::vector<TokenId>& out) const {
  std::string& encoded = scratch.encoded;
  encoded.clear();
  for (const char c : bytes) encoded += byte_chars_[static_cast<uint8_t>(c)];
  if (pre_.ignore_merges) {
    if (const auto it = vocab_.index.find(encoded); it != vocab_.index.end()) {
      out.push_back(it->second);
      return;
    }
  }

  // One symbol per byte, i.e. per character of the encoded word.
  std::vector<Symbol>& symbols = scratch.symbols;
  symbols.clear();
  size_t offset = 0;
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    const size_t size = byte_chars_[b].size();
    const auto index = static_cast<int64_t>(symbols.size());
    symbols.push_back({offset, size, index - 1, index + 1, char_parts_[b]});
    offset += size;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::vector<Bigram>& heap = scratch.heap;
  heap.clear();
  const auto add_bigram = [&](int64_t left, int64_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    if (l.part < 0 || r.part < 0) return;
    const Merge* merge = find_merge(l.part, r.part);
    if (merge == nullptr) return;
    heap.push_back({merge->rank, merge->result, left, right, l.size, r.size});
    std::push_heap(heap.begin(), heap.end(), BigramAfter());
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    add_bigram(static_cast<int64_t>(i) - 1, static_cast<int64_t>(i));
  }

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), BigramAfter());
    const Bigram bigram = heap.back();
    heap.pop_back();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    // Symbols only grow, from a fixed start: unchanged sizes mean unchanged texts.
    if (left.size != bigram.left_size || right.size != bigram.right_size) continue;
    left.size += right.size;
    left.part = bigram.result;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    add_bigram(left.prev, bigram.left);
    add_bigram(bigram.left, left.next);
  }

  for (int64_t i = 0; i >= 0; i = symbols[i].next) {
    const Symbol& symbol = symbols[i];
    TokenId token = -1;
    if (symbol.part >= 0) {
      token = part_tokens_[symbol.part];
    } else {
      token = char_tokens_[static_cast<uint8_t>(bytes[i])];  // an unmerged byte
    }
    if (token >= 0) {
      out.push_back(token);
      continue;
    }
    // Not a token: llama.cpp looks each byte of the encoded text up on its own.
    for (size_t j = symbol.begin; j < symbol.begin + symbol.size; ++j) {
      const TokenId byte_token = single_byte_tokens_[static_cast<uint8_t>(encoded[j])];
      if (byte_token >= 0) out.push_back(byte_token);
    }
  }
}

void BpeTokenizer::encode_text(std::string_view text, Scratch& scratch,
                               std::vector<TokenId>& out) const {
  scratch.cpts = decode_utf8_lenient(text);
  size_t begin = 0;
  for (const size_t length : split_words(pre_.kind, scratch.cpts)) {
    scratch.word.clear();
    for (size_t i = begin; i < begin + length; ++i) append_utf8(scratch.word, scratch.cpts[i]);
    begin += length;
    encode_word(scratch.word, scratch, out);
  }
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, bool add_special,
                                          bool parse_special) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  Scratch scratch;
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  for (const Fragment& fragment : split_special(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
    } else {
      encode_text(fragment.text, scratch, out);
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string BpeTokenizer::normal_piece(const std::string& text) const {
  std::string piece;
  piece.reserve(text.size());
  for (const char32_t cp : decode_utf8_lenient(text)) {
    if (cp < char_bytes_.size() && char_bytes_[cp] >= 0) {
      piece += static_cast<char>(char_bytes_[cp]);
      continue;
    }
    std::string utf8;
    append_utf8(utf8, cp);
    piece += "[UNK_BYTE_0x";
    for (const char c : utf8) {
      char hex[3];
      std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
      piece += hex;
    }
    piece += text;
    piece += ']';
  }
  return piece;
}

}  // namespace quire::engine
