#include "ingest/title.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/normalize.h"
#include "ingest/text_util.h"

namespace quire::ingest {
namespace {

// Headings that open a paper's body: never a title.
bool is_section_heading(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && (is_ascii_digit(s.front()) || s.front() == '.' || s.front() == ' ' ||
                        s.front() == '\xc2' || s.front() == '\xa7')) {
    s.remove_prefix(1);
  }
  static const std::set<std::string, std::less<>> kHeadings = {
      "abstract", "introduction", "contents",        "table of contents",
      "preface",  "references",   "acknowledgments", "acknowledgements"};
  return kHeadings.contains(lower_ascii(s));
}

// "[inria-00555588, v1] A study" -> "A study": repository tags some archives prepend.
std::string_view strip_bracket_tag(std::string_view s) {
  if (!s.starts_with('[')) return s;
  const size_t close = s.find(']');
  if (close == std::string_view::npos || close > 60) return s;
  return trim(s.substr(close + 1));
}

// Letters and digits only, ASCII lower-cased: "Key-value  Store" and "key‐value store" compare
// equal, so a title can be looked up in the page text whatever the line breaks.
std::string alnum_key(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_ascii_alpha(c) || is_ascii_digit(c)) {
      out.push_back(to_lower_ascii(c));
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

bool looks_like_title_text(std::string_view text) {
  if (text.empty() || text.size() > kMaxTitleBytes) return false;
  const TextShape shape = text_shape(text);
  if (shape.words == 0 || shape.words > 30) return false;
  if (shape.words < 2 && shape.letters < 6) return false;
  if (shape.letters * 10 < shape.non_space * 6) return false;  // >= 60% letters
  if (shape.letters * 2 < shape.words * 5) return false;       // >= 2.5 letters per word
  // Font-encoding or OCR garbage puts symbols between letters: "M)NPORQTS%UVMPWXO". One can be
  // a ligature the font did not map ("simpli#ed"); two are garbage.
  int symbols_inside_words = 0;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (std::string_view("%$#*+<=>@[]{}|\\^~()\"").find(text[i]) != std::string_view::npos &&
        is_ascii_alpha(text[i - 1]) && is_ascii_alpha(text[i + 1])) {
      ++symbols_inside_words;
    }
  }
  if (symbols_inside_words >= 2) return false;
  const std::string lower = lower_ascii(text);
  for (std::string_view marker : {"arxiv:", "http://", "https://", "www.", "@", "doi:", "doi.org",
                                  "see discussions, stats", "downloaded from"}) {
    if (lower.find(marker) != std::string::npos) return false;
  }
  return !is_section_heading(text);
}

bool looks_like_file_name(std::string_view text) {
  const std::string lower = lower_ascii(text);
  for (std::string_view prefix : {"microsoft ", "untitled", "slide 1", "powerpoint "}) {
    if (lower.starts_with(prefix)) return true;
  }
  static const std::set<std::string, std::less<>> kPlaceholders = {
      "title", "document", "no title", "none", "unknown", "paper", "presentation", "new document"};
  if (kPlaceholders.contains(lower)) return true;
  for (std::string_view ext : {".dvi", ".doc",  ".docx", ".pdf",  ".tex",   ".ps",  ".eps",
                               ".rtf", ".odt",  ".txt",  ".indd", ".qxd",   ".ppt", ".pptx",
                               ".xls", ".xlsx", ".htm",  ".html", ".pages", ".wpd", ".dot"}) {
    if (lower.ends_with(ext)) return true;
  }
  if (lower.find(' ') == std::string::npos) {
    for (char c : lower) {
      if (c == '_' || c == '/' || c == '\\' || is_ascii_digit(c)) return true;
    }
  }
  return false;
}

std::string clean_title(std::string_view raw) {
  std::string text = collapse_spaces(normalize_page_text(raw));
  if (text.size() > kMaxTitleBytes) {
    size_t cut = text.rfind(' ', kMaxTitleBytes);
    if (cut == std::string::npos || cut < kMaxTitleBytes / 2) {
      cut = kMaxTitleBytes;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    }
    text.resize(cut);
  }
  return text;
}

std::string first_meaningful_line(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = collapse_spaces(text.substr(pos, end - pos));
    pos = end + 1;
    if (looks_like_title_text(line) && !looks_like_file_name(line)) return line;
  }
  return "";
}

std::string file_stem(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

std::string title_from_metadata(std::string_view metadata, std::string_view page1_text) {
  const std::string page1_key = alnum_key(normalize_page_text(page1_text));
  const std::string cleaned = clean_title(metadata);
  const std::string_view candidate = strip_bracket_tag(cleaned);
  if (!candidate.empty() && !looks_like_file_name(candidate) && looks_like_title_text(candidate) &&
      page1_key.find(alnum_key(candidate)) != std::string::npos) {
    return std::string(candidate);
  }
  return "";
}

std::string title_from_type_sizes(const std::vector<TypesetLine>& lines) {
  auto rounded = [](double size) { return std::round(size * 2.0) / 2.0; };
  std::set<double, std::greater<>> sizes;
  for (const TypesetLine& line : lines) {
    if (line.size > 0) sizes.insert(rounded(line.size));
  }
  int tried = 0;
  for (double size : sizes) {
    if (tried++ == 3) break;
    std::string run;
    size_t run_lines = 0;
    for (const TypesetLine& line : lines) {
      if (rounded(line.size) != size) {
        if (run_lines > 0) break;
        continue;
      }
      ++run_lines;
      for (const TypesetPart& part : line.parts) {
        if (part.size < 0.75 * line.size) continue;
        if (!run.empty() && !part.glued) run += ' ';
        run += part.text;
      }
    }
    if (run_lines > kMaxTitleLines) continue;  // an author list or a body in one size
    std::string_view candidate = trim(run);
    while (!candidate.empty() && (candidate.front() == ':' || candidate.front() == ',' ||
                                  candidate.front() == '.' || candidate.front() == ' ')) {
      candidate.remove_prefix(1);
    }
    if (looks_like_title_text(candidate)) return std::string(candidate);
  }
  return "";
}

std::string text_document_title(std::string_view declared, std::string_view page_text,
                                const std::string& path) {
  std::string title = clean_title(declared);
  if (title.empty()) title = clean_title(first_meaningful_line(page_text));
  if (title.empty()) {  // short notes: the first line, whatever it looks like
    const std::string normalized = normalize_page_text(page_text);
    title = clean_title(std::string_view(normalized).substr(0, normalized.find("\n\n")));
  }
  if (title.empty()) title = file_stem(path);
  return title;
}

}  // namespace quire::ingest
