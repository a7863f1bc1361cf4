#include "ingest/extract.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/log.h"
#include "engine/core/mmap_file.h"
#include "engine/core/utf8.h"
#include "ingest/normalize.h"

namespace quire::ingest {
namespace {

// ---------------------------------------------------------------------------------------------
// Small text helpers (ASCII-level; Unicode-aware where they count letters).

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower_ascii(c);
  return out;
}
bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (to_lower_ascii(s[i]) != to_lower_ascii(prefix[i])) return false;
  }
  return true;
}
size_t find_ci(std::string_view haystack, std::string_view needle, size_t from = 0) {
  if (needle.empty()) return from;
  for (size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (starts_with_ci(haystack.substr(i), needle)) return i;
  }
  return std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Whitespace runs become one space; no leading or trailing space.
std::string collapse_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Counts of the characters of a candidate title or heading.
struct TextShape {
  int64_t words = 0;
  int64_t letters = 0;    // Unicode letters
  int64_t non_space = 0;  // code points that are not spaces
  int64_t alnum = 0;      // letters and digits
};

TextShape text_shape(std::string_view s) {
  TextShape shape;
  bool in_word = false;
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&s[i]),
                                                static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {
      ++i;
      ++shape.non_space;
      in_word = true;
      continue;
    }
    i += static_cast<size_t>(n);
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f') {
      in_word = false;
      continue;
    }
    if (!in_word) ++shape.words;
    in_word = true;
    ++shape.non_space;
    switch (utf8proc_category(cp)) {
      case UTF8PROC_CATEGORY_LU:
      case UTF8PROC_CATEGORY_LL:
      case UTF8PROC_CATEGORY_LT:
      case UTF8PROC_CATEGORY_LM:
      case UTF8PROC_CATEGORY_LO:
        ++shape.letters;
        ++shape.alnum;
        break;
      case UTF8PROC_CATEGORY_ND:
      case UTF8PROC_CATEGORY_NL:
      case UTF8PROC_CATEGORY_NO:
        ++shape.alnum;
        break;
      default:
        break;
    }
  }
  return shape;
}

int64_t count_alnum(std::string_view s) {
  return text_shape(s).alnum;
}

// ---------------------------------------------------------------------------------------------
// Titles.

constexpr size_t kMaxTitleBytes = 300;
constexpr size_t kMaxTitleLines = 4;

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

// A line that reads like a title: a few words, mostly letters, no address or identifier.
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

// Metadata titles that name the producing file or tool instead of the document.
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

// One line, NFC, ligatures expanded, at most kMaxTitleBytes (cut at a space).
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

// ---------------------------------------------------------------------------------------------
// poppler.

std::string to_std_string(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

constexpr size_t kMaxPopplerMessages = 32;

// poppler reports through one process-wide callback, synchronously on the thread that does the
// work; each extraction collects the messages of its own thread.
thread_local std::vector<std::string>* t_poppler_messages = nullptr;

void on_poppler_message(const std::string& message, void* /*closure*/) {
  if (t_poppler_messages != nullptr) {
    if (t_poppler_messages->size() < kMaxPopplerMessages) t_poppler_messages->push_back(message);
    return;
  }
  QUIRE_LOG_DEBUG("poppler: %s", message.c_str());
}

// Captures poppler's diagnostics for the lifetime of the object (on this thread).
class PopplerMessages {
 public:
  PopplerMessages() : previous_(t_poppler_messages) {
    static std::once_flag once;
    std::call_once(once, [] { poppler::set_debug_error_function(on_poppler_message, nullptr); });
    t_poppler_messages = &messages_;
  }
  ~PopplerMessages() { t_poppler_messages = previous_; }
  PopplerMessages(const PopplerMessages&) = delete;
  PopplerMessages& operator=(const PopplerMessages&) = delete;

  // The first few distinct messages, "; "-separated, or "no details".
  std::string summary() const {
    std::vector<std::string> distinct;
    for (const std::string& m : messages_) {
      if (std::find(distinct.begin(), distinct.end(), m) == distinct.end()) distinct.push_back(m);
      if (distinct.size() == 3) break;
    }
    if (distinct.empty()) return "no details";
    std::string out;
    for (const std::string& m : distinct) {
      if (!out.empty()) out += "; ";
      out += m;
    }
    return out;
  }
  void log_all(const std::string& path) const {
    for (const std::string& m : messages_)
      QUIRE_LOG_DEBUG("poppler (%s): %s", path.c_str(), m.c_str());
  }

 private:
  std::vector<std::string> messages_;
  std::vector<std::string>* previous_;
};

constexpr size_t kPdfHeaderWindow = 1024;  // readers accept junk before %PDF- within 1 KiB
constexpr size_t kPdfTrailerWindow = 2048;
// A PDF whose pages hold fewer letters and digits than this on average has no usable text layer
// (real papers in the test set hold 1,200 or more per page; the image-only scan holds none).
constexpr int64_t kMinTextCharsPerPage = 40;

// The first bytes, for "got ..." in messages: printable ASCII as is, the rest as \xNN.
std::string describe_start(std::string_view bytes) {
  std::string out;
  for (char c : bytes.substr(0, 16)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

// Title from the type sizes of page 1: the first run of consecutive lines set in the largest
// size at the top of the page, trying the three largest sizes (journal banners, dropped
// capitals and running heads can be larger than the title). A line's size is the largest type
// on it, so titles in small capitals (large initials, smaller rest) keep all their words; type
// much smaller than the line's (footnote marks) is left out.
std::string title_from_font_sizes(const poppler::page& page) {
  const double top_region = page.page_rect().height() * 0.6;
  struct Part {
    std::string text;
    double size = 0;
    bool glued = false;  // no gap before it: the same word (small capitals come in pieces)
  };
  struct Line {
    std::vector<Part> parts;
    double size = 0;  // largest type holding letters
    double top = 0;
    double bottom = 0;
    double right = 0;
  };
  std::vector<Line> lines;
  for (const poppler::text_box& box : page.text_list(poppler::page::text_list_include_font)) {
    const poppler::rectf r = box.bbox();
    const double size = box.get_font_size();
    // Rotated text, such as the arXiv stamp in the margin, is taller than its type.
    if (box.rotation() != 0 || !box.has_font_info() || r.top() > top_region ||
        r.height() > 2.0 * size) {
      continue;
    }
    const double middle = (r.top() + r.bottom()) / 2;
    const bool same_line =
        !lines.empty() && middle >= lines.back().top && middle <= lines.back().bottom;
    if (!same_line) lines.push_back({{}, 0, r.top(), r.bottom(), r.left()});
    Line& line = lines.back();
    Part part{to_std_string(box.text()), size,
              same_line && r.left() - line.right < 0.15 * std::min(size, line.size)};
    if (text_shape(part.text).letters > 0) line.size = std::max(line.size, size);
    line.top = std::min(line.top, r.top());
    line.bottom = std::max(line.bottom, r.bottom());
    line.right = r.right();
    line.parts.push_back(std::move(part));
  }
  auto rounded = [](double size) { return std::round(size * 2.0) / 2.0; };
  std::set<double, std::greater<>> sizes;
  for (const Line& line : lines) {
    if (line.size > 0) sizes.insert(rounded(line.size));
  }
  int tried = 0;
  for (double size : sizes) {
    if (tried++ == 3) break;
    std::string run;
    size_t run_lines = 0;
    for (const Line& line : lines) {
      if (rounded(line.size) != size) {
        if (run_lines > 0) break;
        continue;
      }
      ++run_lines;
      for (const Part& part : line.parts) {
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

Result<ExtractedDocument> extract_pdf(const std::string& path, std::string_view bytes) {
  if (bytes.empty()) return data_loss_error("not a PDF (empty file): '" + path + "'");
  if (bytes.substr(0, kPdfHeaderWindow).find("%PDF-") == std::string_view::npos) {
    return data_loss_error("not a PDF (no %PDF- header in the first " +
                           std::to_string(kPdfHeaderWindow) + " bytes, got \"" +
                           describe_start(bytes) + "\"): '" + path + "'");
  }
  const size_t tail = bytes.size() > kPdfTrailerWindow ? bytes.size() - kPdfTrailerWindow : 0;
  const bool has_eof_marker = bytes.find("%%EOF", tail) != std::string_view::npos;

  PopplerMessages messages;
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (doc == nullptr) {
    return data_loss_error(
        "truncated or damaged PDF: '" + path + "' (" + std::to_string(bytes.size()) + " bytes" +
        (has_eof_marker ? "" : ", no %%EOF marker") + "; poppler: " + messages.summary() + ")");
  }
  if (doc->is_locked()) {
    return failed_precondition_error("encrypted PDF needs a password: '" + path + "'");
  }
  const int n_pages = doc->pages();
  if (n_pages <= 0) {
    return data_loss_error("truncated or damaged PDF: '" + path + "' has no readable pages (" +
                           "poppler: " + messages.summary() + ")");
  }

  ExtractedDocument out;
  out.pages.reserve(static_cast<size_t>(n_pages));
  int64_t text_chars = 0;
  std::unique_ptr<poppler::page> first_page;
  for (int i = 0; i < n_pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    Page extracted;
    extracted.number = i + 1;
    if (page != nullptr) {
      // non_raw_non_physical_layout is pdftotext's default mode: text blocks in reading order
      // (a two-column page gives the left column, then the right one). physical_layout keeps
      // the columns side by side on each line; raw_order_layout follows the content stream,
      // which some producers write glyph by glyph or out of order.
      extracted.text =
          to_std_string(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout));
      while (!extracted.text.empty() && extracted.text.back() == '\f') extracted.text.pop_back();
      text_chars += count_alnum(extracted.text);
    }
    if (i == 0) first_page = std::move(page);
    out.pages.push_back(std::move(extracted));
  }
  if (text_chars < kMinTextCharsPerPage * n_pages) {
    if (!has_eof_marker) {
      return data_loss_error(
          "truncated or damaged PDF: '" + path +
          "' yields no text and has no %%EOF marker (poppler: " + messages.summary() + ")");
    }
    return failed_precondition_error(
        "no extractable text (scanned image?): '" + path + "' has " + std::to_string(n_pages) +
        " pages and " + std::to_string(text_chars) + " letters or digits, expected at least " +
        std::to_string(kMinTextCharsPerPage) + " per page");
  }

  // Title: metadata when it is real and printed on page 1, else the largest type on page 1.
  const std::string page1 = normalize_page_text(out.pages.front().text);
  const std::string page1_key = alnum_key(page1);
  std::string metadata = clean_title(to_std_string(doc->info_key("Title")));
  std::string_view candidate = strip_bracket_tag(metadata);
  if (!candidate.empty() && !looks_like_file_name(candidate) && looks_like_title_text(candidate) &&
      page1_key.find(alnum_key(candidate)) != std::string::npos) {
    out.title = std::string(candidate);
  }
  if (out.title.empty() && first_page != nullptr) {
    out.title = clean_title(title_from_font_sizes(*first_page));
  }
  if (out.title.empty()) out.title = clean_title(first_meaningful_line(out.pages.front().text));
  if (out.title.empty()) out.title = file_stem(path);
  messages.log_all(path);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text files.

// UTF-8 (BOM dropped) as is; UTF-16 with a BOM converted to UTF-8 (bad surrogates -> U+FFFD).
std::string decode_text_bytes(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) return std::string(bytes.substr(3));
  const bool le = bytes.starts_with("\xFF\xFE");
  const bool be = bytes.starts_with("\xFE\xFF");
  if (!le && !be) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size());
  auto unit_at = [&](size_t i) -> uint32_t {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    return le ? (a | (b << 8)) : ((a << 8) | b);
  };
  for (size_t i = 2; i + 1 < bytes.size(); i += 2) {
    const uint32_t u = unit_at(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < bytes.size()) {
      const uint32_t low = unit_at(i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, static_cast<int32_t>(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)));
        i += 2;
        continue;
      }
    }
    append_utf8(out, (u >= 0xD800 && u <= 0xDFFF) ? 0xFFFD : static_cast<int32_t>(u));
  }
  return out;
}

Status check_not_binary(const std::string& path, std::string_view text) {
  const size_t nul = text.substr(0, 8192).find('\0');
  if (nul != std::string_view::npos) {
    return data_loss_error("binary data in a text file: '" + path + "' has a NUL byte at offset " +
                           std::to_string(nul));
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// Markdown.

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

// Markdown to plain text: headings, list items and table rows become their own paragraphs.
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

// ---------------------------------------------------------------------------------------------
// HTML.

struct NamedEntity {
  std::string_view name;
  int32_t code_point;
};
constexpr NamedEntity kNamedEntities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},     {"nbsp", 0x00A0},   {"ndash", 0x2013},  {"mdash", 0x2014},
    {"hellip", 0x2026}, {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"laquo", 0x00AB},  {"raquo", 0x00BB},  {"copy", 0x00A9},
    {"reg", 0x00AE},    {"trade", 0x2122},  {"middot", 0x00B7}, {"bull", 0x2022},
    {"euro", 0x20AC},   {"pound", 0x00A3},  {"times", 0x00D7},  {"divide", 0x00F7},
    {"deg", 0x00B0},    {"plusmn", 0x00B1}, {"sect", 0x00A7},   {"para", 0x00B6},
    {"shy", 0x00AD},    {"thinsp", 0x2009}, {"ensp", 0x2002},   {"emsp", 0x2003},
    {"eacute", 0x00E9}, {"egrave", 0x00E8}, {"aacute", 0x00E1}, {"uuml", 0x00FC},
    {"ouml", 0x00F6},   {"auml", 0x00E4},   {"szlig", 0x00DF},  {"ccedil", 0x00E7},
};

// Appends `s` with character references decoded (&amp; &#39; &#x2014; ...). Unknown names stay.
void append_decoded(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(s.substr(i));
      return;
    }
    out.append(s.substr(i, amp - i));
    i = amp;
    const size_t semi = s.find(';', amp);
    if (semi == std::string_view::npos || semi - amp > 32) {
      out.push_back('&');
      ++i;
      continue;
    }
    const std::string_view name = s.substr(amp + 1, semi - amp - 1);
    int32_t cp = -1;
    if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      int64_t value = 0;
      bool valid = !digits.empty() && digits.size() <= 8;
      for (char c : digits) {
        int d = -1;
        if (is_ascii_digit(c)) d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0) valid = false;
        value = value * (hex ? 16 : 10) + std::max(d, 0);
      }
      if (valid) {
        const bool scalar = value > 0 && value <= 0x10FFFF && !(value >= 0xD800 && value <= 0xDFFF);
        cp = scalar ? static_cast<int32_t>(value) : 0xFFFD;
      }
    } else {
      for (const NamedEntity& e : kNamedEntities) {
        if (e.name == name) cp = e.code_point;
      }
    }
    if (cp < 0) {
      out.push_back('&');
      ++i;
      continue;
    }
    append_utf8(out, cp);
    i = semi + 1;
  }
}

bool is_block_tag(std::string_view name) {
  static const std::set<std::string, std::less<>> kBlockTags = {
      "address", "article", "aside", "blockquote", "body",       "caption", "dd",     "details",
      "div",     "dl",      "dt",    "fieldset",   "figcaption", "figure",  "footer", "form",
      "h1",      "h2",      "h3",    "h4",         "h5",         "h6",      "header", "hr",
      "html",    "li",      "main",  "nav",        "ol",         "p",       "pre",    "section",
      "summary", "table",   "tbody", "tfoot",      "thead",      "tr",      "ul"};
  return kBlockTags.contains(name);
}

// Elements whose content is not document text.
bool is_skipped_element(std::string_view name) {
  return name == "script" || name == "style" || name == "head" || name == "noscript" ||
         name == "template";
}

struct HtmlText {
  std::string text;
  std::string title;     // <title>
  std::string first_h1;  // text of the first <h1>
};

HtmlText html_to_text(std::string_view html) {
  HtmlText result;
  std::string& out = result.text;
  out.reserve(html.size() / 2);
  // <title> is looked up first: it sits inside <head>, which is skipped.
  if (const size_t t = find_ci(html, "<title"); t != std::string_view::npos) {
    const size_t open_end = html.find('>', t);
    const size_t close = find_ci(html, "</title", t);
    if (open_end != std::string_view::npos && close != std::string_view::npos && close > open_end) {
      std::string decoded;
      append_decoded(decoded, html.substr(open_end + 1, close - open_end - 1));
      result.title = collapse_spaces(decoded);
    }
  }
  int pre_depth = 0;
  size_t h1_start = std::string::npos;
  size_t i = 0;
  while (i < html.size()) {
    const size_t lt = html.find('<', i);
    const std::string_view text =
        html.substr(i, (lt == std::string_view::npos ? html.size() : lt) - i);
    if (!text.empty()) {
      std::string decoded;
      append_decoded(decoded, text);
      if (pre_depth > 0) {
        out += decoded;
      } else {  // HTML collapses white space outside <pre>
        for (char c : decoded) {
          if (is_space(c)) {
            if (!out.empty() && !is_space(out.back())) out.push_back(' ');
          } else {
            out.push_back(c);
          }
        }
      }
    }
    if (lt == std::string_view::npos) break;
    i = lt;
    const std::string_view rest = html.substr(i);
    if (rest.starts_with("<!--")) {
      const size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      const size_t end = html.find("]]>", i + 9);
      const size_t stop = end == std::string_view::npos ? html.size() : end;
      out.append(html.substr(i + 9, stop - i - 9));
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (rest.starts_with("<!") || rest.starts_with("<?")) {
      const size_t end = html.find('>', i);
      i = end == std::string_view::npos ? html.size() : end + 1;
      continue;
    }
    const bool closing = rest.size() > 1 && rest[1] == '/';
    size_t name_begin = i + (closing ? 2 : 1);
    size_t name_end = name_begin;
    while (name_end < html.size() &&
           (is_ascii_alpha(html[name_end]) || is_ascii_digit(html[name_end]))) {
      ++name_end;
    }
    if (name_end == name_begin || !is_ascii_alpha(html[name_begin])) {  // a literal '<'
      out.push_back('<');
      ++i;
      continue;
    }
    const std::string name = lower_ascii(html.substr(name_begin, name_end - name_begin));
    // The end of the tag, skipping '>' inside quoted attribute values.
    size_t end = name_end;
    char quote = 0;
    while (end < html.size()) {
      const char c = html[end];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      ++end;
    }
    i = end < html.size() ? end + 1 : html.size();
    if (!closing && is_skipped_element(name)) {
      size_t close = find_ci(html, "</" + name, i);
      if (name == "head") {  // a missing </head> ends at <body>
        const size_t body = find_ci(html, "<body", i);
        if (body < close) close = body;
      }
      if (close == std::string_view::npos) continue;  // unterminated: keep what follows
      if (html.substr(close, 2) == "</") {
        const size_t close_end = html.find('>', close);
        i = close_end == std::string_view::npos ? html.size() : close_end + 1;
      } else {
        i = close;
      }
      continue;
    }
    if (name == "pre") pre_depth += closing ? (pre_depth > 0 ? -1 : 0) : 1;
    if (name == "h1") {
      if (!closing) {
        h1_start = out.size();
      } else if (h1_start != std::string::npos && result.first_h1.empty()) {
        result.first_h1 = collapse_spaces(std::string_view(out).substr(h1_start));
      }
    }
    if (name == "br") {
      out += "\n";
    } else if (name == "td" || name == "th") {
      out += " ";
    } else if (is_block_tag(name)) {
      out += "\n\n";
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------

Result<ExtractedDocument> extract_text_file(const std::string& path, SourceKind kind,
                                            std::string_view bytes) {
  const std::string text = decode_text_bytes(bytes);
  ExtractedDocument out;
  Page page;
  page.number = 1;
  std::string title;
  switch (kind) {
    case SourceKind::kText:
      QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
      page.text = text;
      break;
    case SourceKind::kMarkdown:
      QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
      page.text = strip_markdown(text, &title);
      break;
    case SourceKind::kHtml: {
      QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
      HtmlText html = html_to_text(text);
      page.text = std::move(html.text);
      title = !html.title.empty() ? html.title : html.first_h1;
      break;
    }
    default:
      return internal_error("extract_text_file called for a non-text kind: '" + path + "'");
  }
  out.title = clean_title(title);
  if (out.title.empty()) out.title = clean_title(first_meaningful_line(page.text));
  if (out.title.empty()) {  // short notes: the first line, whatever it looks like
    const std::string normalized = normalize_page_text(page.text);
    out.title = clean_title(std::string_view(normalized).substr(0, normalized.find("\n\n")));
  }
  if (out.title.empty()) out.title = file_stem(path);
  out.pages.push_back(std::move(page));
  return out;
}

}  // namespace

SourceKind source_kind(const std::string& path) {
  const std::string ext = lower_ascii(std::filesystem::path(path).extension().string());
  if (ext == ".pdf") return SourceKind::kPdf;
  if (ext == ".txt") return SourceKind::kText;
  if (ext == ".md" || ext == ".markdown") return SourceKind::kMarkdown;
  if (ext == ".html" || ext == ".htm") return SourceKind::kHtml;
  return SourceKind::kUnsupported;
}

Result<ExtractedDocument> extract_document(const std::string& path) {
  try {
    const SourceKind kind = source_kind(path);
    if (kind == SourceKind::kUnsupported) {
      const std::string ext = std::filesystem::path(path).extension().string();
      return unimplemented_error("unsupported file type '" + (ext.empty() ? "(none)" : ext) +
                                 "': '" + path +
                                 "' (expected .pdf, .txt, .md, .markdown, .html or .htm)");
    }
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) return not_found_error("file not found: '" + path + "'");
    if (std::filesystem::is_regular_file(status)) {
      const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
      if (!ec && size > kMaxSourceBytes) {
        char buf[160];
        std::snprintf(buf, sizeof(buf), "file too large: %.1f MB, the limit is %lld MB: '",
                      static_cast<double>(size) / (1 << 20),
                      static_cast<long long>(kMaxSourceBytes >> 20));
        return resource_exhausted_error(buf + path + "'");
      }
    }
    Result<MappedFile> file = MappedFile::open(path);
    if (!file.ok()) return file.status().with_context("extracting '" + path + "'");
    if (static_cast<int64_t>(file->size()) > kMaxSourceBytes) {
      return resource_exhausted_error(
          "file too large: over " + std::to_string(kMaxSourceBytes >> 20) + " MB: '" + path + "'");
    }
    const std::string_view bytes(reinterpret_cast<const char*>(file->data()), file->size());
    if (kind == SourceKind::kPdf) return extract_pdf(path, bytes);
    return extract_text_file(path, kind, bytes);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("out of memory extracting '" + path + "'");
  } catch (const std::exception& e) {
    return internal_error("extracting '" + path + "': " + e.what());
  } catch (...) {
    return internal_error("extracting '" + path + "': unknown exception");
  }
}

}  // namespace quire::ingest
