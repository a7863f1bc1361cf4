#include "ingest/text_util.h"

#include <utf8proc.h>

namespace quire::ingest {

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

size_t find_ci(std::string_view haystack, std::string_view needle, size_t from) {
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

}  // namespace quire::ingest
