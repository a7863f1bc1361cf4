#include "ingest/normalize.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/core/utf8.h"

namespace quire::ingest {
namespace {

// Code point ending just before `end` in valid UTF-8, or -1.
int32_t code_point_before(std::string_view s, size_t end) {
  if (end == 0) return -1;
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(s[begin]) & 0xC0) == 0x80) --begin;
  utf8proc_int32_t cp = -1;
  utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&s[begin]),
                   static_cast<utf8proc_ssize_t>(end - begin), &cp);
  return cp;
}

int32_t code_point_at(std::string_view s, size_t begin) {
  if (begin >= s.size()) return -1;
  utf8proc_int32_t cp = -1;
  utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&s[begin]),
                   static_cast<utf8proc_ssize_t>(s.size() - begin), &cp);
  return cp;
}

bool is_lowercase_letter(int32_t cp) {
  return cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_LL;
}

// Pass 1: valid UTF-8 out of anything, one code point at a time. Line breaks become '\n' (page
// and paragraph separators "\n\n"), tabs and Unicode spaces ' ', ligatures are expanded, soft
// hyphens, zero-width and direction marks and other control characters are dropped.
std::string clean_code_points(std::string_view text, bool* any_non_ascii) {
  std::string out;
  out.reserve(text.size());
  *any_non_ascii = false;
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int32_t cp = 0;
    if (byte < 0x80) {
      cp = byte;
      ++i;
    } else {
      utf8proc_int32_t decoded = 0;
      const utf8proc_ssize_t n =
          utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&text[i]),
                           static_cast<utf8proc_ssize_t>(text.size() - i), &decoded);
      if (n <= 0) {  // invalid byte: U+FFFD, then resynchronize on the next byte
        cp = 0xFFFD;
        ++i;
      } else {
        cp = decoded;
        i += static_cast<size_t>(n);
      }
    }
    if (cp < 0x80) {
      const char c = static_cast<char>(cp);
      if (c == '\r') {
        out.push_back('\n');
        if (i < text.size() && text[i] == '\n') ++i;
      } else if (c == '\f' || c == '\v') {
        out += "\n\n";
      } else if (c == '\t') {
        out.push_back(' ');
      } else if (c == '\n' || c >= 0x20) {
        if (c != 0x7F) out.push_back(c);
      }
      continue;
    }
    switch (cp) {
      case 0xFB00:
        out += "ff";
        continue;
      case 0xFB01:
        out += "fi";
        continue;
      case 0xFB02:
        out += "fl";
        continue;
      case 0xFB03:
        out += "ffi";
        continue;
      case 0xFB04:
        out += "ffl";
        continue;
      case 0xFB05:
        out += "st";
        continue;  // long s + t
      case 0xFB06:
        out += "st";
        continue;
      case 0x00AD:  // soft hyphen
      case 0x200B:  // zero width space
      case 0x200E:  // left-to-right mark
      case 0x200F:  // right-to-left mark
      case 0x2060:  // word joiner
      case 0xFEFF:  // zero width no-break space (BOM)
        continue;
      case 0x0085:  // next line
      case 0x2028:  // line separator
        out.push_back('\n');
        continue;
      case 0x2029:  // paragraph separator
        out += "\n\n";
        continue;
      default:
        break;
    }
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) continue;  // bidi
    const utf8proc_category_t category = utf8proc_category(cp);
    if (category == UTF8PROC_CATEGORY_CC) continue;
    if (category == UTF8PROC_CATEGORY_ZS) {
      out.push_back(' ');
      continue;
    }
    *any_non_ascii = true;
    append_utf8(out, cp);
  }
  return out;
}

// Pass 2: canonical composition (NFC); the input is valid UTF-8 without NUL bytes.
std::string to_nfc(std::string text) {
  utf8proc_uint8_t* composed = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &composed,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return text;  // cannot happen for valid input; keep the text rather than lose it
  std::string out(reinterpret_cast<const char*>(composed), static_cast<size_t>(n));
  std::free(composed);
  return out;
}

// A line ending in a hyphen after a letter: a word broken at the line end, or a compound.
// ASCII '-' is rejoined without the hyphen when both halves are lowercase ("embed-" + "ding")
// and the part before holds no other hyphen; otherwise, and always for U+2010 HYPHEN (word
// processors write it for every real hyphen: "object‐" + "oriented"), the hyphen stays and
// no space is added ("state-of-the-" + "art", "Hewlett-" + "Packard", "pre-" + "2010").
bool join_hyphenated(std::string& paragraph, std::string_view line) {
  size_t hyphen_bytes = 0;
  bool ascii = false;
  if (paragraph.ends_with('-')) {
    hyphen_bytes = 1;
    ascii = true;
  } else if (paragraph.ends_with("\xE2\x80\x90")) {
    hyphen_bytes = 3;
  } else {
    return false;
  }
  const size_t hyphen = paragraph.size() - hyphen_bytes;
  const int32_t before = code_point_before(paragraph, hyphen);
  if (before < 0 || utf8proc_category(before) < UTF8PROC_CATEGORY_LU ||
      utf8proc_category(before) > UTF8PROC_CATEGORY_LO) {
    return false;  // "one -": a dash, not a hyphen
  }
  const size_t word_start = paragraph.rfind(' ', hyphen);
  const size_t begin = word_start == std::string::npos ? 0 : word_start + 1;
  const bool compound =
      std::string_view(paragraph).substr(begin, hyphen - begin).find('-') != std::string_view::npos;
  if (ascii && !compound && is_lowercase_letter(before) &&
      is_lowercase_letter(code_point_at(line, 0))) {
    paragraph.resize(hyphen);
  }
  paragraph.append(line);
  return true;
}

// Appends `line` (trimmed, single spaces) to the paragraph being built.
void append_line(std::string& paragraph, std::string_view line) {
  if (paragraph.empty()) {
    paragraph.append(line);
    return;
  }
  if (join_hyphenated(paragraph, line)) return;
  paragraph.push_back(' ');
  paragraph.append(line);
}

// Pass 3: lines into paragraphs. Spaces collapse; blank lines separate paragraphs.
std::string assemble_paragraphs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::string paragraph;
  std::string line;
  auto flush_paragraph = [&] {
    if (paragraph.empty()) return;
    if (!out.empty()) out += "\n\n";
    out += paragraph;
    paragraph.clear();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line.clear();
    for (size_t i = pos; i < end; ++i) {
      const char c = text[i];
      if (c == ' ') {
        if (!line.empty() && line.back() != ' ') line.push_back(' ');
      } else {
        line.push_back(c);
      }
    }
    if (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.empty()) {
      flush_paragraph();
    } else {
      append_line(paragraph, line);
    }
    pos = end + 1;
  }
  flush_paragraph();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running headers and footers.

constexpr size_t kEdgeLines = 2;               // lines looked at, at the top and at the bottom
constexpr double kRepeatedPageFraction = 0.4;  // a header repeats on at least 40% of pages
constexpr size_t kMaxHeaderBytes = 200;
// A header line this long found away from the edges is the header too: reading order puts it
// after a figure's text on some pages. Shorter lines could be ordinary text.
constexpr size_t kMinHeaderBytesAnywhere = 16;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The comparison key of a line: single spaces, each digit run masked as '#', so that
// "Page 3 of 12" and "Page 4 of 12" are the same header. Case is kept: a running head
// "End-to-End Arguments" is not the title "END-TO-END ARGUMENTS" on page 1.
std::string header_key(std::string_view line) {
  std::string key;
  key.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (is_digit(c)) {
      if (key.empty() || key.back() != '#') key.push_back('#');
      while (i + 1 < line.size() && is_digit(line[i + 1])) ++i;
    } else if (c == ' ' || c == '\t') {
      if (!key.empty() && key.back() != ' ') key.push_back(' ');
    } else {
      key.push_back(c);
    }
  }
  while (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

// Whether a key can be a running header: it holds text (a letter or any non-ASCII character) or
// several numbers (a date such as "2008/6/16"). A single number is left to is_page_number_line,
// so that figure labels such as "1000" at the top of pages are not taken for headers.
bool can_be_header(std::string_view key) {
  int numbers = 0;
  for (char c : key) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80) {
      return true;
    }
    numbers += c == '#';
  }
  return numbers >= 2;
}

bool is_roman_numeral(std::string_view s) {
  if (s.empty() || s.size() > 6) return false;
  const bool lower = s.front() >= 'a';
  for (char c : s) {
    const char u = lower ? static_cast<char>(c - 'a' + 'A') : c;
    if (u != 'I' && u != 'V' && u != 'X' && u != 'L' && u != 'C') return false;
    if ((c >= 'a') != lower) return false;
  }
  return true;
}

// "12", "- 12 -", "Page 12", "p. 12", "12 of 30", "12/30", "xii".
bool is_page_number_line(std::string_view line) {
  std::string_view s = line;
  auto strip_dashes = [&] {
    for (;;) {
      s = trim(s);
      if (s.starts_with('-') || s.starts_with('[') || s.starts_with('(')) {
        s.remove_prefix(1);
      } else if (s.ends_with('-') || s.ends_with(']') || s.ends_with(')')) {
        s.remove_suffix(1);
      } else if (s.starts_with("\xE2\x80\x93") || s.starts_with("\xE2\x80\x94")) {  // – —
        s.remove_prefix(3);
      } else if (s.ends_with("\xE2\x80\x93") || s.ends_with("\xE2\x80\x94")) {
        s.remove_suffix(3);
      } else {
        return;
      }
    }
  };
  strip_dashes();
  std::string key = header_key(s);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string_view k = key;
  for (std::string_view prefix : {"page ", "p. ", "pg. "}) {
    if (k.starts_with(prefix)) k.remove_prefix(prefix.size());
  }
  if (k == "#" || k == "# of #" || k == "# / #" || k == "#/#") {
    // Digit runs longer than 4 are years, numbers in tables or identifiers, not page numbers.
    size_t run = 0;
    for (char c : s) {
      run = is_digit(c) ? run + 1 : 0;
      if (run > 4) return false;
    }
    return true;
  }
  return is_roman_numeral(s);
}

struct PageLines {
  std::vector<std::string_view> lines;  // all lines, untrimmed
  std::vector<size_t> edge;             // indices of the first and last kEdgeLines non-empty lines
};

PageLines split_page(std::string_view text) {
  PageLines page;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("\n\f", pos);
    if (end == std::string_view::npos) end = text.size();
    page.lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  std::vector<size_t> non_empty;
  for (size_t i = 0; i < page.lines.size(); ++i) {
    if (!trim(page.lines[i]).empty()) non_empty.push_back(i);
  }
  for (size_t k = 0; k < non_empty.size(); ++k) {
    if (k < kEdgeLines || k + kEdgeLines >= non_empty.size()) page.edge.push_back(non_empty[k]);
  }
  return page;
}

}  // namespace

std::string normalize_page_text(std::string_view text) {
  bool any_non_ascii = false;
  std::string cleaned = clean_code_points(text, &any_non_ascii);
  if (any_non_ascii) cleaned = to_nfc(std::move(cleaned));
  return assemble_paragraphs(cleaned);
}

void normalize_pages(std::vector<Page>& pages) {
  std::vector<PageLines> split;
  split.reserve(pages.size());
  for (const Page& page : pages) split.push_back(split_page(page.text));

  // Keys of the edge lines, counted once per page.
  std::unordered_map<std::string, size_t> pages_with_key;
  for (const PageLines& page : split) {
    std::unordered_set<std::string> seen;
    for (size_t index : page.edge) {
      const std::string_view line = trim(page.lines[index]);
      if (line.size() > kMaxHeaderBytes) continue;
      std::string key = header_key(line);
      if (seen.insert(key).second) ++pages_with_key[key];
    }
  }
  const size_t min_pages = std::max<size_t>(
      2, static_cast<size_t>(std::ceil(kRepeatedPageFraction * static_cast<double>(pages.size()))));
  std::unordered_set<std::string> headers;
  if (pages.size() >= 3) {  // fewer pages are no evidence of a running header
    for (const auto& [key, count] : pages_with_key) {
      if (count >= min_pages && can_be_header(key)) headers.insert(key);
    }
  }

  for (size_t p = 0; p < pages.size(); ++p) {
    const PageLines& page = split[p];
    std::vector<bool> drop(page.lines.size(), false);
    for (size_t index : page.edge) {
      const std::string_view line = trim(page.lines[index]);
      drop[index] = is_page_number_line(line) ||
                    (line.size() <= kMaxHeaderBytes && headers.contains(header_key(line)));
    }
    if (!headers.empty()) {
      for (size_t i = 0; i < page.lines.size(); ++i) {
        const std::string_view line = trim(page.lines[i]);
        if (!drop[i] && line.size() >= kMinHeaderBytesAnywhere && line.size() <= kMaxHeaderBytes &&
            headers.contains(header_key(line))) {
          drop[i] = true;
        }
      }
    }
    std::string kept;
    kept.reserve(pages[p].text.size());
    for (size_t i = 0; i < page.lines.size(); ++i) {
      if (drop[i]) continue;
      kept.append(page.lines[i]);
      kept.push_back('\n');
    }
    pages[p].text = normalize_page_text(kept);
  }
}

}  // namespace quire::ingest
