#include "ingest/sources/html.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/utf8.h"
#include "ingest/sources/text.h"
#include "ingest/text_util.h"
#include "ingest/title.h"

namespace quire::ingest {
namespace {

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

}  // namespace

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

Result<ExtractedDocument> extract_html(const std::string& path, std::string_view bytes) {
  const std::string text = decode_text_bytes(bytes);
  QUIRE_RETURN_IF_ERROR(check_not_binary(path, text));
  HtmlText html = html_to_text(text);
  ExtractedDocument out;
  Page page{1, std::move(html.text)};
  out.title =
      text_document_title(!html.title.empty() ? html.title : html.first_h1, page.text, path);
  out.pages.push_back(std::move(page));
  return out;
}

}  // namespace quire::ingest
