#include "engine/tokenizer/wordpiece.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "engine/core/utf8.h"
#include "engine/gguf/gguf_names.h"
#include "engine/tokenizer/pretokenize.h"

namespace quire::engine {
namespace {

constexpr int32_t kReplacementChar = 0xFFFD;

// What a (normalized) code point does to the word being built.
enum class CharClass : uint8_t {
  kWord,   // part of the current word
  kSpace,  // ends the current word
  kDrop,   // ignored
  kAlone,  // a word of its own: ends the current word, forms one, starts another
};

// BERT's "Chinese character" blocks: CJK Unified Ideographs, Extensions A-E and the
// compatibility ideographs. Extension E starts at U+2B920 rather than U+2B820 as in
// llama.cpp (and HF tokenizers), which this must agree with.
bool is_cjk_ideograph(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

CharClass classify(int32_t cp) {
  if (is_white_space(static_cast<char32_t>(cp))) return CharClass::kSpace;
  if (cp == 0 || cp == kReplacementChar) return CharClass::kDrop;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return CharClass::kDrop;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return CharClass::kAlone;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      // Only ASCII symbols split words: "x²" or "🦙" stay inside their word.
      return cp < 0x7F ? CharClass::kAlone : CharClass::kWord;
    default:
      return is_cjk_ideograph(cp) ? CharClass::kAlone : CharClass::kWord;
  }
}

// The first code point of cp's canonical decomposition (cp itself when it has none). Keeping
// only the first drops the accents of precomposed letters and splits Hangul syllables to their
// leading consonant, exactly as llama.cpp's one-to-one NFD table does.
int32_t first_of_nfd(int32_t cp) {
  utf8proc_int32_t decomposed[8];
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  const utf8proc_ssize_t n =
      utf8proc_decompose_char(cp, decomposed, 8, UTF8PROC_DECOMPOSE, &boundclass);
  return n >= 1 && n <= 8 ? decomposed[0] : cp;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> WordPieceTokenizer::create(Vocab vocab) {
  if (vocab.unk < 0) {
    return failed_precondition_error(
        std::string(gguf::kKvTokenizerUnkId) +
        ": absent, and WordPiece needs an unknown token for words it cannot match");
  }
  return std::unique_ptr<Tokenizer>(new WordPieceTokenizer(std::move(vocab)));
}

WordPieceTokenizer::WordPieceTokenizer(Vocab vocab) : Tokenizer(std::move(vocab)) {
  first_ = vocab_.cls >= 0 ? vocab_.cls : vocab_.bos;
  last_ = vocab_.sep >= 0 ? vocab_.sep : vocab_.eos;

  // Build the trie with a hash of (parent, byte) -> child, then lay the edges out per node.
  nodes_.emplace_back();
  std::unordered_map<uint64_t, uint32_t> edges;
  edges.reserve(vocab_.size() * 4);
  for (size_t id = 0; id < vocab_.size(); ++id) {
    const std::string& text = vocab_.tokens[id];
    if (text.empty()) continue;
    uint32_t node = 0;
    for (const char c : text) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
      auto [it, inserted] = edges.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
      if (inserted) nodes_.emplace_back();
      node = it->second;
    }
    nodes_[node].token = static_cast<TokenId>(id);  // a later duplicate wins, as in Vocab::index
  }
  std::vector<std::tuple<uint32_t, uint8_t, uint32_t>> sorted;  // (parent, byte, child)
  sorted.reserve(edges.size());
  for (const auto& [key, target] : edges) {
    sorted.emplace_back(static_cast<uint32_t>(key >> 8), static_cast<uint8_t>(key & 0xFF), target);
  }
  std::sort(sorted.begin(), sorted.end());
  edge_bytes_.reserve(sorted.size());
  edge_targets_.reserve(sorted.size());
  for (const auto& [parent, byte, target] : sorted) {
    TrieNode& node = nodes_[parent];
    if (node.n_edges == 0) node.first_edge = static_cast<uint32_t>(edge_bytes_.size());
    ++node.n_edges;
    edge_bytes_.push_back(byte);
    edge_targets_.push_back(target);
  }
}

int64_t WordPieceTokenizer::child(uint32_t node, uint8_t byte) const {
  const TrieNode& n = nodes_[node];
  const uint8_t* begin = edge_bytes_.data() + n.first_edge;
  const uint8_t* end = begin + n.n_edges;
  const uint8_t* it =
      n.n_edges <= 8 ? std::find(begin, end, byte) : std::lower_bound(begin, end, byte);
  if (it == end || *it != byte) return -1;
  return edge_targets_[n.first_edge + (it - begin)];
}

void WordPieceTokenizer::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  const size_t start = out.size();
  size_t pos = 0;
  while (pos < word.size()) {
    // Longest vocabulary text that is a prefix of word[pos..].
    TokenId best = -1;
    size_t best_end = pos;
    uint32_t node = 0;
    for (size_t i = pos; i < word.size(); ++i) {
      const int64_t next = child(node, static_cast<uint8_t>(word[i]));
      if (next < 0) break;
      node = static_cast<uint32_t>(next);
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = i + 1;
      }
    }
    if (best < 0) {
      // BERT gives up on the whole word, not just the unmatched rest.
      out.resize(start);
      out.push_back(vocab_.unk);
      return;
    }
    out.push_back(best);
    pos = best_end;
  }
}

void WordPieceTokenizer::encode_text(std::string_view text, std::vector<TokenId>& out) const {
  const std::array<CharClass, 128>& ascii = ascii_table<classify>();
  std::string word(kSpaceMark);
  const auto finish_word = [&] {
    if (word.size() > kSpaceMark.size()) {
      encode_word(word, out);
      word.resize(kSpaceMark.size());
    }
  };

  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    int32_t cp = bytes[i];
    if (cp < 0x80) {
      ++i;
    } else {
      utf8proc_int32_t decoded = 0;
      const utf8proc_ssize_t len =
          utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(text.size() - i), &decoded);
      if (len > 0) {
        cp = first_of_nfd(decoded);
        i += static_cast<size_t>(len);
      } else {
        cp = kReplacementChar;
        ++i;
      }
    }

    CharClass cls;
    if (cp < 0x80) {
      cls = ascii[cp];
      if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    } else {
      cls = classify(cp);
      cp = utf8proc_tolower(cp);
    }
    switch (cls) {
      case CharClass::kWord:
        append_utf8(word, cp);
        break;
      case CharClass::kSpace:
        finish_word();
        break;
      case CharClass::kDrop:
        break;
      case CharClass::kAlone:
        finish_word();
        append_utf8(word, cp);
        finish_word();
        break;
    }
  }
  finish_word();
}

std::vector<TokenId> WordPieceTokenizer::encode(std::string_view text, bool add_special,
                                                bool parse_special) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 4 + 2);
  if (add_special && first_ >= 0) out.push_back(first_);
  for (const Fragment& fragment : split_special(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
    } else {
      encode_text(fragment.text, out);
    }
  }
  if (add_special && last_ >= 0) out.push_back(last_);
  return out;
}

}  // namespace quire::engine
