// The title heuristic: which line of a document names it. Shared by every source (the PDF
// source gathers the metadata Title and the typeset lines of page 1; the text sources a
// declared title such as a Markdown heading or an HTML <title>). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace quire::ingest {

// Titles are cut to this many bytes (at a space when one is in the second half).
inline constexpr size_t kMaxTitleBytes = 300;
// A run of lines in one type size longer than this is an author list or body text.
inline constexpr size_t kMaxTitleLines = 4;

// A line that reads like a title: 1 to 30 words (one word only with 6 letters or more), at
// least 60% letters and 2.5 letters per word, no symbols between letters twice (font-encoding
// garbage), no URL, e-mail, DOI or arXiv identifier, and not a section heading ("Abstract",
// "1. Introduction", "References", ...).
bool looks_like_title_text(std::string_view text);

// Metadata titles that name the producing file or tool instead of the document: "Microsoft
// Word - x.doc", "Untitled", "paper.dvi", placeholders ("Title", "Document"), and single words
// holding '_', '/', '\' or a digit.
bool looks_like_file_name(std::string_view text);

// One line, NFC, ligatures expanded (normalize.h), at most kMaxTitleBytes.
std::string clean_title(std::string_view raw);

// The first line of `text` that looks like a title and not like a file name, spaces
// collapsed; "" when there is none.
std::string first_meaningful_line(std::string_view text);

// The file name without its directory and extension.
std::string file_stem(const std::string& path);

// The PDF metadata Title when it is real: cleaned, repository tags such as "[inria-0055, v1] "
// dropped, not a file name, reads like a title and is printed on page 1 (letters and digits
// compared, case and line breaks ignored). `page1_text` is page 1's raw text. "" otherwise.
std::string title_from_metadata(std::string_view metadata, std::string_view page1_text);

// A piece of type on a line of a page: its text and size (points), and whether it follows the
// previous piece without a gap (the same word: small capitals come in pieces).
struct TypesetPart {
  std::string text;
  double size = 0;
  bool glued = false;
};

// A line of a page, top to bottom; `size` is the largest type holding letters (0: none).
struct TypesetLine {
  std::vector<TypesetPart> parts;
  double size = 0;
};

// Title from the type sizes at the top of page 1: the first run of consecutive lines set in the
// largest size, trying the three largest sizes (rounded to half points; journal banners,
// dropped capitals and running heads can be larger than the title) and keeping the first run
// of at most kMaxTitleLines lines that looks like a title. A line's size is the largest type on
// it, so titles in small capitals (large initials, smaller rest) keep all their words; type
// much smaller than the line's (under 75%: footnote marks) is left out. Not cleaned; "" when
// no run qualifies.
std::string title_from_type_sizes(const std::vector<TypesetLine>& lines);

// The title of a one-page text document: `declared` (front matter, first heading, <title>)
// cleaned, else the first meaningful line of `page_text`, else its first paragraph whatever it
// looks like (short notes), else the file stem of `path`.
std::string text_document_title(std::string_view declared, std::string_view page_text,
                                const std::string& path);

}  // namespace quire::ingest
