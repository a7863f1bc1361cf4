// Shell-style globs over document paths, for search filters ("/papers/**/*.pdf").
//
// Syntax (the whole path must match; bytes compare exactly, so matching is case-sensitive):
//   *        any run of characters within one path segment (never '/')
//   **       any run of characters across segments ('/' included); "**/" also matches no
//            directory at all, so "/docs/**/*.md" matches "/docs/a.md" and "/docs/x/y/a.md"
//   ?        one character other than '/' (one whole UTF-8 sequence, not one byte)
//   [abc] [a-z] [!a-z] [^a-z]
//            one byte (never '/') in, or not in, the set; ranges compare bytes, so they are
//            meant for ASCII. A '[' with no closing ']' is a literal '['.
//   \c       the character c literally (\*, \?, \[, \\)
//   anything else matches itself.
// This is fnmatch(3) with FNM_PATHNAME, plus "**" as in git and most shells' globstar.
//
// Thread-safety: pure functions; any number of calls may run concurrently.
#pragma once

#include <cstddef>
#include <string_view>

#include "engine/core/status.h"

namespace quire::index {

// Longest pattern accepted (bytes). Matching costs O(pattern * path) in the worst case.
inline constexpr size_t kMaxPathGlobBytes = 1024;

// Whether `path` matches `pattern` as described above.
bool path_glob_match(std::string_view pattern, std::string_view path);

// kInvalidArgument for an empty pattern or one longer than kMaxPathGlobBytes; anything else is a
// valid pattern (unbalanced '[' and a trailing '\' are literals).
Status check_path_glob(std::string_view pattern);

}  // namespace quire::index
