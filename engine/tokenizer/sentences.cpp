#include "engine/tokenizer/sentences.h"

#include <utf8proc.h>

#include <set>
#include <string>

namespace quire::engine {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Words before a '.' that do not end a sentence. "no" only counts before a number (No. 5).
const std::set<std::string, std::less<>>& abbreviations() {
  static const std::set<std::string, std::less<>> kAbbreviations = {
      "al", "approx", "ca",  "cf",   "ch",   "chap", "cor",  "def",  "dept", "dr",
      "ed", "eds",    "eq",  "eqs",  "fig",  "figs", "jr",   "lem",  "mr",   "mrs",
      "ms", "prof",   "pp",  "prop", "ref",  "refs", "resp", "rev",  "sec",  "secs",
      "sr", "st",     "tab", "thm",  "univ", "viz",  "vol",  "vols", "vs",   "no"};
  return kAbbreviations;
}

// Whether the '.' at `dot` follows an abbreviation or an initial ("Fig.", "e.g.", "J.").
bool ends_in_abbreviation(std::string_view text, size_t paragraph_start, size_t dot,
                          size_t next_start) {
  size_t begin = dot;
  while (begin > paragraph_start && !is_space(text[begin - 1])) --begin;
  std::string_view word = text.substr(begin, dot - begin);
  while (!word.empty() && (word.front() == '(' || word.front() == '"' || word.front() == '\'' ||
                           word.front() == '[')) {
    word.remove_prefix(1);
  }
  if (word.empty()) return false;
  if (word.size() == 1 &&
      ((word[0] >= 'a' && word[0] <= 'z') || (word[0] >= 'A' && word[0] <= 'Z'))) {
    return true;  // an initial: "J. Smith"
  }
  if (word.find('.') != std::string_view::npos) {
    // "e.g", "i.e", "U.S": every dot-separated part one or two letters.
    size_t part = 0;
    for (char c : word) {
      if (c == '.') {
        if (part == 0 || part > 2) return false;
        part = 0;
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        ++part;
      } else {
        return false;
      }
    }
    return part >= 1 && part <= 2;
  }
  std::string lower;
  for (char c : word) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    lower.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (lower == "no")
    return next_start < text.size() && text[next_start] >= '0' && text[next_start] <= '9';
  return abbreviations().contains(lower);
}

// Whether a sentence may start at `pos`: an uppercase letter, a digit, a quote or a bracket.
bool can_start_sentence(std::string_view text, size_t pos) {
  const char c = text[pos];
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == '"' || c == '\'' || c == '(' || c == '[') return true;
  if (static_cast<unsigned char>(c) < 0x80) return false;
  utf8proc_int32_t cp = 0;
  if (utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&text[pos]),
                       static_cast<utf8proc_ssize_t>(text.size() - pos), &cp) <= 0) {
    return false;
  }
  if (cp == 0x201C || cp == 0x2018 || cp == 0x00AB) return true;  // “ ‘ «
  const utf8proc_category_t category = utf8proc_category(cp);
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LT;
}

// Bytes of a closing quote or bracket at `pos` (after a sentence's final mark), else 0.
size_t closing_mark_bytes(std::string_view text, size_t pos) {
  const char c = text[pos];
  if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
  const std::string_view rest = text.substr(pos);
  if (rest.starts_with("\xE2\x80\x9D") || rest.starts_with("\xE2\x80\x99")) return 3;  // ” ’
  if (rest.starts_with("\xC2\xBB")) return 2;                                          // »
  return 0;
}

}  // namespace

void split_sentences(std::string_view text, size_t begin, size_t end,
                     std::vector<std::pair<size_t, size_t>>& out) {
  size_t sentence_start = begin;
  for (size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < end) {
      const size_t n = closing_mark_bytes(text, j);
      if (n == 0) break;
      j += n;
    }
    if (j >= end || !is_space(text[j])) continue;
    size_t next = j;
    while (next < end && is_space(text[next])) ++next;
    if (next >= end || !can_start_sentence(text, next)) continue;
    if (c == '.' && ends_in_abbreviation(text, begin, i, next)) continue;
    out.emplace_back(sentence_start, j);
    sentence_start = next;
    i = next - 1;
  }
  if (sentence_start < end) out.emplace_back(sentence_start, end);
}

std::vector<std::pair<size_t, size_t>> split_sentences(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    size_t end = text.find('\n', i);
    if (end == std::string_view::npos) end = text.size();
    size_t last = end;
    while (last > i && is_space(text[last - 1])) --last;
    split_sentences(text, i, last, out);
    i = end;
  }
  return out;
}

}  // namespace quire::engine
