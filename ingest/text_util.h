// Small string helpers shared by the sources and the title heuristic: ASCII classes and case,
// trimming and space collapsing, and the letter counts of a candidate title. Pure functions,
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quire::ingest {

// ASCII white space: ' ', \t, \n, \r, \f, \v.
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool is_ascii_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
inline char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string lower_ascii(std::string_view s);

// ASCII case-insensitive prefix test and search (npos when absent; an empty needle is at `from`).
bool starts_with_ci(std::string_view s, std::string_view prefix);
size_t find_ci(std::string_view haystack, std::string_view needle, size_t from = 0);

// Without leading and trailing ASCII white space (a view into `s`).
std::string_view trim(std::string_view s);

// White space runs become one space; no leading or trailing space.
std::string collapse_spaces(std::string_view s);

// Counts of the characters of a candidate title or heading (UTF-8; an invalid byte counts as
// one non-space character of a word).
struct TextShape {
  int64_t words = 0;
  int64_t letters = 0;    // Unicode letters
  int64_t non_space = 0;  // code points that are not spaces
  int64_t alnum = 0;      // letters and digits
};
TextShape text_shape(std::string_view s);

}  // namespace quire::ingest
