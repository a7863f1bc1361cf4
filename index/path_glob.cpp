#include "index/path_glob.h"

#include <string>
#include <vector>

namespace quire::index {
namespace {

// Bytes of the UTF-8 sequence starting at text[i] (1 for ASCII and for stray bytes), clipped to
// the end of the text.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  size_t length = 1;
  while (i + length < text.size() &&
         (static_cast<unsigned char>(text[i + length]) & 0xC0) == 0x80) {
    ++length;
  }
  return length;
}

// A bracket expression starting at pattern[open] == '['. Sets `end` to the index of its ']' and
// returns whether `byte` is in it; false with end == npos when the bracket is not closed.
bool bracket_matches(std::string_view pattern, size_t open, unsigned char byte, size_t& end) {
  size_t i = open + 1;
  bool negated = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negated = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  for (; i < pattern.size(); ++i) {
    if (pattern[i] == ']' && !first) {
      end = i;
      return found != negated;
    }
    first = false;
    const auto low = static_cast<unsigned char>(pattern[i]);
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      const auto high = static_cast<unsigned char>(pattern[i + 2]);
      if (low <= byte && byte <= high) found = true;
      i += 2;
    } else if (low == byte) {
      found = true;
    }
  }
  end = std::string_view::npos;
  return false;
}

// Backtracking matcher with a memo over (pattern index, path index, inside "**"), so that
// patterns with many stars stay O(pattern * path): each state does O(1) work besides the states
// it asks for.
class GlobMatcher {
 public:
  GlobMatcher(std::string_view pattern, std::string_view path) : pattern_(pattern), path_(path) {}

  // Whether the whole path matches the whole pattern. A pattern without stars never needs the
  // memo, so it is only allocated when a star asks for a state.
  bool run() { return compute(0, 0, false); }

  // Whether pattern[p..] matches path[s..]. `continuing`: p is a "**" that has already consumed
  // at least one character (so its "no directory" reading of "**/" no longer applies).
  bool match(size_t p, size_t s, bool continuing = false) {
    if (memo_.empty()) memo_.assign(2 * (pattern_.size() + 1) * (path_.size() + 1), kUnknown);
    int8_t& memo = memo_[(continuing ? 1 : 0) * (pattern_.size() + 1) * (path_.size() + 1) +
                         p * (path_.size() + 1) + s];
    if (memo == kUnknown) memo = compute(p, s, continuing) ? 1 : 0;
    return memo == 1;
  }

 private:
  static constexpr int8_t kUnknown = -1;

  bool compute(size_t p, size_t s, bool continuing) {
    while (p < pattern_.size()) {
      const char c = pattern_[p];
      if (c == '*') {
        if (p + 1 < pattern_.size() && pattern_[p + 1] == '*') {
          size_t rest = p + 2;
          while (rest < pattern_.size() && pattern_[rest] == '*') ++rest;  // "***" is "**"
          // "**/" may stand for no directory at all.
          if (!continuing && rest < pattern_.size() && pattern_[rest] == '/' &&
              match(rest + 1, s)) {
            return true;
          }
          if (match(rest, s)) return true;
          return s < path_.size() && match(p, s + 1, /*continuing=*/true);
        }
        if (match(p + 1, s)) return true;
        return s < path_.size() && path_[s] != '/' && match(p, s + 1);
      }
      if (c == '?') {
        if (s == path_.size() || path_[s] == '/') return false;
        s += utf8_sequence_length(path_, s);
        ++p;
        continue;
      }
      if (c == '[') {
        size_t end = 0;
        const bool in_set = s < path_.size() &&
                            bracket_matches(pattern_, p, static_cast<unsigned char>(path_[s]), end);
        if (s < path_.size() && end == std::string_view::npos) {
          // Not a bracket expression: a literal '['.
        } else if (s == path_.size() || path_[s] == '/' || !in_set) {
          // A bracket never matches '/'. At the end of the path, whether or not the bracket is
          // closed, nothing is left to match it.
          return false;
        } else {
          p = end + 1;
          ++s;
          continue;
        }
      }
      char literal = c;
      if (c == '\\' && p + 1 < pattern_.size()) {
        literal = pattern_[p + 1];
        ++p;
      }
      if (s == path_.size() || path_[s] != literal) return false;
      ++p;
      ++s;
    }
    return s == path_.size();
  }

  std::string_view pattern_;
  std::string_view path_;
  std::vector<int8_t> memo_;
};

}  // namespace

bool path_glob_match(std::string_view pattern, std::string_view path) {
  if (pattern.size() > kMaxPathGlobBytes) return false;
  GlobMatcher matcher(pattern, path);
  return matcher.run();
}

Status check_path_glob(std::string_view pattern) {
  if (pattern.empty()) return invalid_argument_error("path glob: empty pattern");
  if (pattern.size() > kMaxPathGlobBytes) {
    return invalid_argument_error("path glob '" + std::string(pattern.substr(0, 40)) +
                                  "...': " + std::to_string(pattern.size()) +
                                  " bytes, expected at most " + std::to_string(kMaxPathGlobBytes));
  }
  return ok_status();
}

}  // namespace quire::index
