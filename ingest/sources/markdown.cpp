#include "ingest/sources/markdown.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/sources/text.h"
#include "ingest/text_util.h"
#include "ingest/title.h"

namespace quire::ingest {
namespace {

bool is_md_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}
bool is_word_char(char c) {
  return is_ascii_alpha(c) || is_ascii_digit(c) || static_cast<unsigned char>(c) >= 0x80;
}

// Index of the bracket closing the one at `open` (nesting counted), or npos.
// Inline constructs close within this many bytes or are taken literally: bounds the work on
// long lines full of unmatched markers.
constexpr size_t kMaxInlineSpan = 1000;

size_t matching_bracket(std::string_view s, size_t open, char open_char, char close_char) {
  int depth = 0;
  const size_t limit = std::min(s.size(), open + kMaxInlineSpan);
  for (size_t i = open; i < limit; ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == open_char) ++depth;
    if (s[i] == close_char && --depth == 0) return i;
  }
  return std::string_view::npos;
}

std::string strip_inline_markdown(std::string_view s);

// Emphasis/strike-through markers at `i` (a run of '*', '_' or '~'): the length of the run when
// a matching closing run follows on the line, so both can be dropped; 0 when it is literal.
size_t emphasis_closer(std::string_view s, size_t i, size_t* run_out) {
  const char c = s[i];
  size_t run = 0;
  while (i + run < s.size() && s[i + run] == c) ++run;
  *run_out = run;
  if (c == '~' && run != 2) return 0;
  if (run > 3) return 0;
  const size_t after = i + run;
  if (after >= s.size() || is_space(s[after])) return 0;      // an opener is followed by text
  if (c == '_' && i > 0 && is_word_char(s[i - 1])) return 0;  // snake_case is not emphasis
  const size_t limit = std::min(s.size(), i + kMaxInlineSpan);
  for (size_t j = after + 1; j + run <= limit; ++j) {
    if (s[j] != c) continue;
    size_t close_run = 0;
    while (j + close_run < s.size() && s[j + close_run] == c) ++close_run;
    if (close_run == run && !is_space(s[j - 1]) &&
        !(c == '_' && j + run < s.size() && is_word_char(s[j + run]))) {
      return j;
    }
    j += close_run - 1;
  }
  return 0;
}

std::string strip_inline_markdown(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && is_md_punct(s[i + 1])) {
      out.push_back(s[i + 1]);
      i += 2;
      continue;
    }
    if (c == '`') {
      size_t run = 0;
      while (i + run < s.size() && s[i + run] == '`') ++run;
      const std::string fence(run, '`');
      const size_t close = s.substr(0, std::min(s.size(), i + kMaxInlineSpan)).find(fence, i + run);
      if (close != std::string_view::npos) {
        out.append(trim(s.substr(i + run, close - i - run)));
        i = close + run;
      } else {
        out.append(fence);
        i += run;
      }
      continue;
    }
    if (c == '[' || (c == '!' && i + 1 < s.size() && s[i + 1] == '[')) {
      const size_t open = c == '!' ? i + 1 : i;
      const size_t close = matching_bracket(s, open, '[', ']');
      if (close != std::string_view::npos && close + 1 < s.size() &&
          (s[close + 1] == '(' || s[close + 1] == '[')) {
        const char target_open = s[close + 1];
        const size_t target_close =
            matching_bracket(s, close + 1, target_open, target_open == '(' ? ')' : ']');
        if (target_close != std::string_view::npos) {
          out += strip_inline_markdown(s.substr(open + 1, close - open - 1));
          i = target_close + 1;
          continue;
        }
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '<') {  // autolink <https://x> or <a@b.c>
      const size_t close = s.find('>', i);
      if (close != std::string_view::npos) {
        const std::string_view inner = s.substr(i + 1, close - i - 1);
        const bool url = starts_with_ci(inner, "http://") || starts_with_ci(inner, "https://") ||
                         starts_with_ci(inner, "mailto:") ||
                         (inner.find('@') != std::string_view::npos &&
                          inner.find(' ') == std::string_view::npos);
        if (url) {
          out.append(inner);
          i = close + 1;
          continue;
        }
      }
    }
    if (c == '*' || c == '_' || c == '~') {
      size_t run = 0;
      const size_t closer = emphasis_closer(s, i, &run);
      if (closer != 0) {
        out += strip_inline_markdown(s.substr(i + run, closer - i - run));
        i = closer + run;
      } else {
        out.append(s.substr(i, run));
        i += run;
      }
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

bool is_thematic_break(std::string_view t) {
  if (t.size() < 3) return false;
  const char c = t.front();
  if (c != '-' && c != '*' && c != '_' && c != '=') return false;
  int count = 0;
  for (char x : t) {
    if (x == c) {
      ++count;
    } else if (x != ' ') {
      return false;
    }
  }
  return count >= 3;
}

std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

}  // namespace

std::string strip_markdown(std::string_view text, std::string* title) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  size_t first = 0;
  std::string front_matter_title;
  if (!lines.empty() && trim(lines[0]) == "---") {  // YAML front matter
    for (size_t j = 1; j < lines.size() && j < 200; ++j) {
      if (trim(lines[j]) == "---" || trim(lines[j]) == "...") {
        for (size_t k = 1; k < j; ++k) {
          if (lines[k].starts_with("title:")) front_matter_title = unquote(lines[k].substr(6));
        }
        first = j + 1;
        break;
      }
    }
  }
  std::string first_h1, first_heading;
  std::string out;
  out.reserve(text.size());
  std::string_view fence;     // "```" or "~~~" while inside a fenced code block
  std::string previous_line;  // last paragraph line written (for setext headings)
  for (size_t n = first; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    const std::string_view t = trim(line);
    if (t.starts_with("```") || t.starts_with("~~~")) {
      if (fence.empty()) {
        fence = t.substr(0, 3);
        out += "\n";
        continue;
      }
      if (t.starts_with(fence)) {
        fence = {};
        out += "\n";
        continue;
      }
    }
    if (!fence.empty()) {  // code is kept as text, unchanged
      out.append(line);
      out += "\n";
      continue;
    }
    if (t.empty()) {
      out += "\n";
      previous_line.clear();
      continue;
    }
    if (t.starts_with('#')) {
      size_t level = 0;
      while (level < t.size() && t[level] == '#') ++level;
      if (level <= 6 && (level == t.size() || t[level] == ' ')) {
        std::string_view heading = trim(t.substr(level));
        while (heading.ends_with('#')) heading.remove_suffix(1);
        const std::string stripped = strip_inline_markdown(trim(heading));
        if (level == 1 && first_h1.empty()) first_h1 = stripped;
        if (first_heading.empty()) first_heading = stripped;
        out += "\n" + stripped + "\n\n";
        previous_line.clear();
        continue;
      }
    }
    if (is_thematic_break(t)) {  // also the underline of a setext heading
      if (!previous_line.empty() && t.front() == '=' && first_h1.empty()) first_h1 = previous_line;
      if (!previous_line.empty() && (t.front() == '=' || t.front() == '-') &&
          first_heading.empty()) {
        first_heading = previous_line;
      }
      out += "\n";
      previous_line.clear();
      continue;
    }
    // Reference definition: [id]: https://...
    if (t.starts_with('[')) {
      const size_t close = t.find("]:");
      if (close != std::string_view::npos && t.find(' ') > close) continue;
    }
    std::string_view body = t;
    while (body.starts_with('>')) body = trim(body.substr(1));
    bool own_paragraph = false;
    if (body.size() >= 2 && (body[0] == '-' || body[0] == '*' || body[0] == '+') &&
        body[1] == ' ') {
      body = trim(body.substr(2));
      own_paragraph = true;
    } else if (body.starts_with('|')) {  // table row; the |---|---| separator is dropped
      if (body.find_first_not_of("|:- ") == std::string_view::npos) continue;
      own_paragraph = true;
    } else {
      size_t digits = 0;
      while (digits < body.size() && is_ascii_digit(body[digits])) ++digits;
      if (digits > 0 && digits + 1 < body.size() && (body[digits] == '.' || body[digits] == ')') &&
          body[digits + 1] == ' ') {
        own_paragraph = true;
      }
    }
    std::string stripped = strip_inline_markdown(body);
    if (body.starts_with('|')) {
      for (char& c : stripped) {
        if (c == '|') c = ' ';
      }
    }
    if (own_paragraph) out += "\n";
    out += stripped;
    out += own_paragraph ? "\n\n" : "\n";
    previous_line = own_paragraph ? "" : stripped;
  }
  if (!front_matter_title.empty()) {
    *title = front_matter_title;
  } else if (!first_h1.empty()) {
    *title = first_h1;
  } else {
    *title = first_heading;
  }
  return out;
}

Result<ExtractedDocument> extract_markdown(const std::string& path, std::string_view bytes) {
  const std::string text = decode_text_bytes(bytes);
  QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
  ExtractedDocument out;
  std::string title;
  Page page{1, strip_markdown(text, &title)};
  out.title = text_document_title(title, page.text, path);
  out.pages.push_back(std::move(page));
  return out;
}

}  // namespace quire::ingest
