// Citation marks in an answer: "[1]", "[1, 3]", "[2–4]", "[1; 2]" after a claim, numbering the
// sources of the prompt (1-based).
//
// A bracket group is a citation when it holds only positive integers (no leading zero, at most
// four digits) separated by "," or ";" (spaces allowed) or joined into ranges by "-", "–" (en
// dash) or "—" (em dash), and it is not part of a formula: a group right after "_", "^" or "]", or
// right before one of "=", "(", "[", "^", "_", "'" or a letter or digit, is left alone
// ("x_[1]", "a[1]=b", "[1](x)"). "[0, 1]", "[1.5]", "[n]" and "[ ]" are not citations.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace quire::generate {

struct CitationMark {
  size_t begin = 0;          // byte offset of '[' in the text
  size_t end = 0;            // one past ']'
  std::vector<int> numbers;  // cited numbers in order of appearance, ranges expanded, no repeats
  std::vector<int> invalid;  // those outside 1..n_sources
};

// Every citation mark of `text`, in order. A range wider than 100 or written backwards ("[4–2]")
// is not a citation.
std::vector<CitationMark> parse_citations(std::string_view text, int n_sources);

}  // namespace quire::generate
