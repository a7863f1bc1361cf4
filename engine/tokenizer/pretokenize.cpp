#include "engine/tokenizer/pretokenize.h"

#include <utf8proc.h>

#include <array>

#include "engine/gguf/gguf_names.h"

namespace quire::engine {

bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

constexpr char32_t kReplacementChar = 0xFFFD;

// tokenizer.ggml.pre values and what llama.cpp does with them (its aliases included).
constexpr PreTokenizerSpec kPreTokenizers[] = {
    // name         kind                          clean  add_bos ignore_merges
    {"default", PreTokenizerKind::kDefault, true, false, false},
    {"gpt-2", PreTokenizerKind::kGpt2, true, false, false},
    {"phi-2", PreTokenizerKind::kGpt2, true, false, false},
    {"roberta-bpe", PreTokenizerKind::kGpt2, true, false, false},
    {"mpt", PreTokenizerKind::kGpt2, true, false, false},
    {"olmo", PreTokenizerKind::kGpt2, true, false, false},
    {"jais", PreTokenizerKind::kGpt2, true, false, false},
    {"starcoder", PreTokenizerKind::kStarcoder, true, false, false},
    {"refact", PreTokenizerKind::kStarcoder, true, false, false},
    {"codeshell", PreTokenizerKind::kStarcoder, true, false, false},
    {"exaone", PreTokenizerKind::kStarcoder, true, false, false},
    {"minerva-7b", PreTokenizerKind::kStarcoder, true, false, false},
    {"command-r", PreTokenizerKind::kStarcoder, false, false, false},
    {"smollm", PreTokenizerKind::kStarcoder, false, false, false},
    {"llama3", PreTokenizerKind::kLlama3, true, true, true},
    {"llama-v3", PreTokenizerKind::kLlama3, true, true, true},
    {"llama-bpe", PreTokenizerKind::kLlama3, true, true, true},
    {"falcon3", PreTokenizerKind::kLlama3, true, true, true},
    {"dbrx", PreTokenizerKind::kLlama3, true, false, false},
    {"smaug-bpe", PreTokenizerKind::kLlama3, true, false, false},
    {"qwen2", PreTokenizerKind::kQwen2, false, false, false},
    {"stablelm2", PreTokenizerKind::kQwen2, true, false, false},
};

// Per-code-point class bits. Every code point in range has kValid; a position outside the
// current piece has no bits at all (llama.cpp's empty flags), which ends every run.
enum : uint8_t {
  kValid = 1,
  kLetter = 2,
  kNumber = 4,
  kSpace = 8,
  kPunct = 16,
};

uint8_t classify(char32_t cp) {
  if (is_white_space(cp)) return kValid | kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return kValid | kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return kValid | kNumber;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return kValid | kPunct;
    default:
      return kValid;
  }
}

bool is_cr_or_lf(char32_t cp) {
  return cp == '\r' || cp == '\n';
}

char32_t ascii_lower(char32_t cp) {
  return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
}

// The text being split: code points, their classes, and the output word lengths.
struct Splitter {
  std::u32string_view cpts;
  std::vector<uint8_t> classes;

  // Class of position pos of a piece ending at `end` (0 outside it).
  uint8_t at(size_t pos, size_t end) const { return pos < end ? classes[pos] : 0; }
};

// Emits word lengths for one piece [begin, end): each emit(to) closes the word [prev, to).
class Emitter {
 public:
  Emitter(size_t begin, std::vector<size_t>& out) : prev_(begin), out_(out) {}
  void emit(size_t to) {
    if (to > prev_) out_.push_back(to - prev_);
    prev_ = to;
  }

 private:
  size_t prev_;
  std::vector<size_t>& out_;
};

// The whitespace alternatives shared by both families, at a position that starts a space run
// (or matches nothing). with_newlines adds Llama-3's \s*[\r\n]+ before \s+(?!\S)|\s+.
size_t whitespace_end(const Splitter& s, size_t pos, size_t end, bool with_newlines) {
  size_t n = 0;
  size_t last_newline_end = 0;
  while (s.at(pos + n, end) & kSpace) {
    if (is_cr_or_lf(s.cpts[pos + n])) last_newline_end = pos + n + 1;
    ++n;
  }
  // \s*[\r\n]+ : the space run up to its last CR or LF.
  if (with_newlines && last_newline_end > 0) return last_newline_end;
  // \s+(?!\S) : a run followed by a non-space leaves its last space to the next word.
  if (n > 1 && pos + n < end) return pos + n - 1;
  // \s+
  if (n > 0) return pos + n;
  return pos + 1;  // no alternative matches (not reachable for valid code points)
}

// 's|'t|'re|'ve|'m|'ll|'d (case-insensitive when asked): the end of the match, or 0.
size_t contraction_end(const Splitter& s, size_t pos, size_t end, bool ignore_case) {
  if (s.cpts[pos] != '\'' || pos + 1 >= end) return 0;
  const auto lower = [&](char32_t cp) { return ignore_case ? ascii_lower(cp) : cp; };
  const char32_t next = lower(s.cpts[pos + 1]);
  if (next == 's' || next == 't' || next == 'm' || next == 'd') return pos + 2;
  if (pos + 2 < end) {
    const char32_t after = lower(s.cpts[pos + 2]);
    if ((next == 'r' && after == 'e') || (next == 'v' && after == 'e') ||
        (next == 'l' && after == 'l')) {
      return pos + 3;
    }
  }
  return 0;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void split_gpt2(const Splitter& s, size_t begin, size_t end, std::vector<size_t>& out) {
  Emitter words(begin, out);
  size_t pos = begin;
  while (pos < end) {
    if (const size_t to = contraction_end(s, pos, end, /*ignore_case=*/false)) {
      pos = to;
      words.emit(pos);
      continue;
    }
    // The optional leading space belongs to the word when the next code point starts one.
    const size_t lead = s.cpts[pos] == ' ' ? 1 : 0;
    const uint8_t first = s.at(pos + lead, end);
    uint8_t run_class = 0;
    if (first & kLetter) {
      run_class = kLetter;
    } else if (first & kNumber) {
      run_class = kNumber;
    }
    if (run_class != 0) {
      pos += lead;
      while (s.at(pos, end) & run_class) ++pos;
      words.emit(pos);
      continue;
    }
    if ((first & kValid) && !(first & (kSpace | kLetter | kNumber))) {
      pos += lead;
      for (uint8_t c = s.at(pos, end); (c & kValid) && !(c & (kSpace | kLetter | kNumber));
           c = s.at(pos, end)) {
        ++pos;
      }
      words.emit(pos);
      continue;
    }
    pos = whitespace_end(s, pos, end, /*with_newlines=*/false);
    words.emit(pos);
  }
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void split_llama3(const Splitter& s, size_t begin, size_t end, size_t max_digits,
                  std::vector<size_t>& out) {
  Emitter words(begin, out);
  size_t pos = begin;
  while (pos < end) {
    if (const size_t to = contraction_end(s, pos, end, /*ignore_case=*/true)) {
      pos = to;
      words.emit(pos);
      continue;
    }
    const char32_t cp = s.cpts[pos];
    const uint8_t cls = s.classes[pos];
    // [^\r\n\p{L}\p{N}]?\p{L}+ : letters, with any one non-newline, non-digit code point before.
    if (!is_cr_or_lf(cp) && !(cls & kNumber) &&
        ((cls & kLetter) || (s.at(pos + 1, end) & kLetter))) {
      ++pos;
      while (s.at(pos, end) & kLetter) ++pos;
      words.emit(pos);
      continue;
    }
    // \p{N}{1,max_digits} : a digit run cut into groups from the left.
    if (cls & kNumber) {
      size_t group_begin = pos;
      while (s.at(pos, end) & kNumber) {
        if (++pos - group_begin >= max_digits) {
          words.emit(pos);
          group_begin = pos;
        }
      }
      words.emit(pos);
      continue;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]* : a lone space at the very end of the piece also lands here,
    // matching what \s+ would give.
    const uint8_t first = cp == ' ' ? s.at(pos + 1, end) : cls;
    if (!(first & (kSpace | kLetter | kNumber))) {
      if (cp == ' ') ++pos;
      for (uint8_t c = s.at(pos, end); (c & kValid) && !(c & (kSpace | kLetter | kNumber));
           c = s.at(pos, end)) {
        ++pos;
      }
      while (pos < end && is_cr_or_lf(s.cpts[pos])) ++pos;
      words.emit(pos);
      continue;
    }
    pos = whitespace_end(s, pos, end, /*with_newlines=*/true);
    words.emit(pos);
  }
}

// llama.cpp's std::regex stages: each match is a piece and so is each stretch between matches.
// match(pos, end) returns the end of the longest match starting at pos, or pos for none.
template <typename Match>
void split_on_matches(size_t begin, size_t end, std::vector<size_t>& out, Match match) {
  Emitter pieces(begin, out);
  size_t pos = begin;
  while (pos < end) {
    const size_t to = match(pos, end);
    if (to > pos) {
      pieces.emit(pos);
      pieces.emit(to);
      pos = to;
    } else {
      ++pos;
    }
  }
  pieces.emit(end);
}

bool is_ascii_digit(char32_t cp) {
  return cp >= '0' && cp <= '9';
}

// [\p{P}$+<=>^~|]
bool is_default_punct(const Splitter& s, size_t pos) {
  if (s.classes[pos] & kPunct) return true;
  const char32_t cp = s.cpts[pos];
  return cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' || cp == '^' || cp == '~' ||
         cp == '|';
}

// Applies one stage to every piece of `pieces` (lengths), returning the refined lengths.
template <typename Stage>
std::vector<size_t> refine(const std::vector<size_t>& pieces, Stage stage) {
  std::vector<size_t> out;
  out.reserve(pieces.size() * 2);
  size_t begin = 0;
  for (const size_t length : pieces) {
    stage(begin, begin + length, out);
    begin += length;
  }
  return out;
}

}  // namespace

Result<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre) {
  const std::string_view name = pre.empty() ? std::string_view("default") : pre;
  for (const PreTokenizerSpec& spec : kPreTokenizers) {
    if (spec.name == name) return spec;
  }
  std::string supported;
  for (const PreTokenizerSpec& spec : kPreTokenizers) {
    if (!supported.empty()) supported += ", ";
    supported += spec.name;
  }
  return unimplemented_error(std::string(gguf::kKvTokenizerPre) + " '" + std::string(pre) +
                             "': unknown pre-tokenizer (supported: " + supported + ")");
}

std::u32string decode_utf8_lenient(std::string_view text) {
  std::u32string cpts;
  cpts.reserve(text.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const auto continuation = [&](size_t i) { return i < n && (bytes[i] & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < n) {
    const uint8_t lead = bytes[i];
    char32_t cp = kReplacementChar;
    size_t length = 1;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      if (continuation(i + 1)) {
        cp = (char32_t{lead & 0x1Fu} << 6) | (bytes[i + 1] & 0x3Fu);
        length = 2;
      }
    } else if ((lead & 0xF0) == 0xE0) {
      if (continuation(i + 1) && continuation(i + 2)) {
        cp = (char32_t{lead & 0x0Fu} << 12) | (char32_t{bytes[i + 1] & 0x3Fu} << 6) |
             (bytes[i + 2] & 0x3Fu);
        length = 3;
      }
    } else if ((lead & 0xF8) == 0xF0) {
      if (continuation(i + 1) && continuation(i + 2) && continuation(i + 3)) {
        const char32_t decoded = (char32_t{lead & 0x07u} << 18) |
                                 (char32_t{bytes[i + 1] & 0x3Fu} << 12) |
                                 (char32_t{bytes[i + 2] & 0x3Fu} << 6) | (bytes[i + 3] & 0x3Fu);
        if (decoded <= 0x10FFFF) {
          cp = decoded;
          length = 4;
        }
      }
    }
    cpts.push_back(cp);
    i += length;
  }
  return cpts;
}

std::vector<size_t> split_words(PreTokenizerKind kind, std::u32string_view cpts) {
  if (cpts.empty()) return {};
  Splitter s{cpts, std::vector<uint8_t>(cpts.size())};
  const std::array<uint8_t, 128>& ascii = ascii_table<classify>();
  for (size_t i = 0; i < cpts.size(); ++i) {
    s.classes[i] = cpts[i] < 128 ? ascii[cpts[i]] : classify(cpts[i]);
  }

  const auto gpt2 = [&](size_t b, size_t e, std::vector<size_t>& out) { split_gpt2(s, b, e, out); };
  std::vector<size_t> pieces = {cpts.size()};
  switch (kind) {
    case PreTokenizerKind::kGpt2:
      return refine(pieces, gpt2);
    case PreTokenizerKind::kStarcoder:
      pieces = refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_on_matches(b, e, out, [&](size_t pos, size_t) {
          return (s.classes[pos] & kNumber) ? pos + 1 : pos;
        });
      });
      return refine(pieces, gpt2);
    case PreTokenizerKind::kLlama3:
      return refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_llama3(s, b, e, 3, out);
      });
    case PreTokenizerKind::kQwen2:
      return refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_llama3(s, b, e, 1, out);
      });
    case PreTokenizerKind::kDefault:
      pieces = refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_on_matches(b, e, out, [&](size_t pos, size_t end) {
          while (pos < end && is_default_punct(s, pos)) ++pos;
          return pos;
        });
      });
      pieces = refine(pieces, gpt2);
      pieces = refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_on_matches(b, e, out, [&](size_t pos, size_t end) {
          while (pos < end && (s.classes[pos] & kNumber)) ++pos;
          return pos;
        });
      });
      return refine(pieces, [&](size_t b, size_t e, std::vector<size_t>& out) {
        split_on_matches(b, e, out, [&](size_t pos, size_t end) {
          const bool triple = pos + 3 <= end && is_ascii_digit(cpts[pos]) &&
                              is_ascii_digit(cpts[pos + 1]) && is_ascii_digit(cpts[pos + 2]);
          return triple ? pos + 3 : pos;
        });
      });
  }
  return pieces;
}

std::vector<std::string> pre_tokenize(PreTokenizerKind kind, std::string_view text) {
  const std::u32string cpts = decode_utf8_lenient(text);
  std::vector<std::string> words;
  size_t begin = 0;
  for (const size_t length : split_words(kind, cpts)) {
    std::string& word = words.emplace_back();
    for (size_t i = begin; i < begin + length; ++i) append_utf8(word, cpts[i]);
    begin += length;
  }
  return words;
}

}  // namespace quire::engine
