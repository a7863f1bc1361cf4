#include "generate/citations.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace quire::generate {
namespace {

constexpr int kMaxDigits = 4;
constexpr int kMaxRange = 100;

bool is_word_byte(unsigned char c) {
  return std::isalnum(c) != 0 || c >= 0x80;
}

// Length of a dash at text[i] ("-", "–" U+2013, "—" U+2014), 0 when none.
size_t dash_at(std::string_view text, size_t i) {
  if (i < text.size() && text[i] == '-') return 1;
  if (text.substr(i, 3) == "\xE2\x80\x93" || text.substr(i, 3) == "\xE2\x80\x94") return 3;
  return 0;
}

size_t skip_spaces(std::string_view text, size_t i) {
  while (i < text.size() && text[i] == ' ') ++i;
  return i;
}

// A positive integer without a leading zero at text[i]; -1 when none. Advances i.
int read_number(std::string_view text, size_t& i) {
  size_t j = i;
  while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) != 0) ++j;
  const size_t n = j - i;
  if (n == 0 || n > kMaxDigits || text[i] == '0') return -1;
  const int value = std::stoi(std::string(text.substr(i, n)));
  i = j;
  return value;
}

// Parses the group starting at text[open] == '['; on success fills numbers and returns the
// offset one past ']', else 0.
size_t parse_group(std::string_view text, size_t open, std::vector<int>& numbers) {
  size_t i = skip_spaces(text, open + 1);
  for (;;) {
    const int first = read_number(text, i);
    if (first < 0) return 0;
    int last = first;
    const size_t after_first = skip_spaces(text, i);
    if (const size_t d = dash_at(text, after_first); d > 0) {
      i = skip_spaces(text, after_first + d);
      last = read_number(text, i);
      if (last < first || last - first > kMaxRange) return 0;
    } else {
      i = after_first;
    }
    for (int n = first; n <= last; ++n) {
      if (std::find(numbers.begin(), numbers.end(), n) == numbers.end()) numbers.push_back(n);
    }
    i = skip_spaces(text, i);
    if (i >= text.size()) return 0;
    if (text[i] == ']') return i + 1;
    if (text[i] != ',' && text[i] != ';') return 0;
    i = skip_spaces(text, i + 1);
  }
}

bool formula_before(std::string_view text, size_t open) {
  if (open == 0) return false;
  const char c = text[open - 1];
  return c == '_' || c == '^' || c == ']';
}

bool formula_after(std::string_view text, size_t end) {
  if (end >= text.size()) return false;
  const unsigned char c = static_cast<unsigned char>(text[end]);
  return c == '=' || c == '(' || c == '[' || c == '^' || c == '_' || c == '\'' || is_word_byte(c);
}

}  // namespace

std::vector<CitationMark> parse_citations(std::string_view text, int n_sources) {
  std::vector<CitationMark> out;
  for (size_t i = text.find('['); i != std::string_view::npos; i = text.find('[', i + 1)) {
    CitationMark mark;
    const size_t end = parse_group(text, i, mark.numbers);
    if (end == 0 || formula_before(text, i) || formula_after(text, end)) continue;
    mark.begin = i;
    mark.end = end;
    for (int n : mark.numbers) {
      if (n < 1 || n > n_sources) mark.invalid.push_back(n);
    }
    out.push_back(std::move(mark));
    i = end - 1;
  }
  return out;
}

}  // namespace quire::generate
